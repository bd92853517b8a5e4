"""Run a plan: one child process per build point, resuming whatever is already stored."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime, timezone

from annbench.results.store import ResultStore
from annbench.runner.isolate import run_isolated
from annbench.runner.manifest import build_manifest, gpus
from annbench.runner.plan import BuildPoint, Plan
from annbench.runner.progress import Progress


def _child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def _write_status(store: ResultStore, plan: Plan, keys: list[dict], run_id: str, status: str, reason: str) -> None:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for key in keys:
        if not store.has(key):
            store.write_record(key, {"status": status, "reason": reason, "run_id": run_id, "time": now,
                                     "dataset_path": plan.dataset})


def _skip_reason(bp: BuildPoint, have_gpus: bool) -> str | None:
    from annbench.backends import registry

    cls = registry.get(bp.index)
    if bp.device not in cls.devices:
        return f"skipped: {bp.index} has no {bp.device} variant"
    if bp.device == "gpu" and not have_gpus:
        return "skipped: no GPU"
    return None


def _forget_failures(store: ResultStore, all_keys: list[list[dict]]) -> int:
    """Drop the records of points stored as failed or skipped; returns how many."""
    n = 0
    for keys in all_keys:
        for key in keys:
            status = store.status(key)
            if status is not None and status != "ok":
                store.forget(key)
                n += 1
    return n


def run_plan(plan: Plan, results: str, argv: list[str] | None = None) -> dict:
    """Execute ``plan``; returns counts of points by outcome."""
    store = ResultStore(results)
    store.remove_stale_temporaries()
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    store.write_manifest(run_id, build_manifest(run_id, argv or sys.argv, plan.threads, plan.blas_threshold))
    have_gpus = bool(gpus()) if any(bp.device == "gpu" for bp in plan.builds) else False
    all_keys = [plan.keys(bp) for bp in plan.builds]
    retried = _forget_failures(store, all_keys) if plan.retry_failed else 0
    done_before = sum(store.has(k) for keys in all_keys for k in keys)
    progress = Progress(plan.n_points(), done_before)
    counts = {"measured": 0, "resumed": done_before, "failed": 0, "skipped": 0, "retried": retried}
    for bp, keys in zip(plan.builds, all_keys):
        missing = [k for k in keys if not store.has(k)]
        if not missing:
            continue
        label = f"{bp.index} {bp.build} {bp.device}"
        skip = _skip_reason(bp, have_gpus)
        if skip:
            _write_status(store, plan, missing, run_id, "skipped", skip)
            counts["skipped"] += len(missing)
            progress.update(progress.done + len(missing), label)
            continue
        base_done = progress.done - sum(1 for k in keys if k not in missing)
        spec = {"dataset": plan.dataset, "dataset_name": plan.dataset_name, "results": str(results),
                "dataset_fingerprint": plan.dataset_fingerprint,
                "run_id": run_id, "threads": plan.threads, "min_time_s": plan.min_time_s,
                "save_neighbors": plan.save_neighbors, "blas_threshold": plan.blas_threshold,
                "build_point": {"index": bp.index, "build": bp.build, "device": bp.device}, "keys": missing}

        def poll(keys=keys, base=base_done, label=label):
            progress.update(base + sum(store.has(k) for k in keys), label)

        reason = run_isolated(spec, plan.timeout_s, plan.memory_limit_bytes, _child_env(plan.threads), poll)
        measured = sum(store.has(k) for k in missing)
        counts["measured"] += measured
        if reason:
            _write_status(store, plan, missing, run_id, "failed", reason)
            counts["failed"] += len(missing) - measured
            print(f"\nannbench: {label} failed: {reason}", file=sys.stderr)
        poll()
    progress.close()
    return counts

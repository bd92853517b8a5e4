"""Run a plan: check it, lock the results directory, then one child process per build point,
resuming whatever is already stored under the same identity."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime, timezone

import psutil

from annbench.results.schema import point_id
from annbench.results.store import ResultStore
from annbench.runner import checks, identity
from annbench.runner.executor import Executor, Job, LocalExecutor
from annbench.runner.filtered import prepare_truths
from annbench.runner.lock import results_lock
from annbench.runner.manifest import build_manifest
from annbench.runner.plan import BuildPoint, Plan
from annbench.runner.progress import Progress


def thread_vars(threads: int) -> dict:
    """The thread counts every worker runs under (``--threads``; keyed as ``threads``)."""
    return {var: str(threads) for var in identity.SET_BY_ANNBENCH}


def _child_env(threads: int) -> dict:
    return {**os.environ, **thread_vars(threads)}


def default_memory_limit() -> int:
    """A build point's resident memory limit when the sweep names none: 80% of this machine's."""
    return int(0.8 * psutil.virtual_memory().total)


def _write_status(store: ResultStore, plan: Plan, keys: list[dict], extra: dict, status: str, reason: str) -> None:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for key in keys:
        if not store.has(key):
            store.write_record(key, {**extra, "status": status, "reason": reason, "time": now,
                                     "dataset_path": plan.dataset})


def _skip_reason(bp: BuildPoint, gpus_seen: int) -> str | None:
    """Why a build point cannot run here (no such variant; a GPU point where faiss sees too few GPUs, or
    spread in a way its backend does not offer), or None."""
    from annbench.backends import registry

    cls = registry.get(bp.index)
    if bp.device not in cls.devices:
        return f"skipped: {bp.index} has no {bp.device} variant"
    if bp.device != "gpu":
        return None
    from annbench.backends.gpu_common import missing_gpus, spread_refused

    return spread_refused(cls, bp.gpus, bp.gpu_mode) or missing_gpus(bp.gpus, gpus_seen)


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


class Identity:
    """Per backend: the environment of its points (machine, the versions of its libraries, the
    OpenMP/BLAS variables) and
    the faiss BLAS threshold it runs under (None for backends that do not run faiss)."""

    def __init__(self, plan: Plan, d: int) -> None:
        self.machine = identity.machine()
        self.machine_id = identity.short_hash(self.machine)
        self.runtime = identity.runtime()
        self.plan, self.d = plan, d

    def of(self, index: str) -> tuple[dict, str, int | None]:
        from annbench.backends import registry

        libraries = registry.get(index).libraries
        versions = identity.versions(libraries)
        facts = {"machine": self.machine, "machine_id": self.machine_id, "versions": versions, "runtime": self.runtime}
        return facts, identity.env_id(self.machine, versions, self.runtime), self.blas(libraries)

    def blas(self, libraries) -> int | None:
        if "faiss" not in libraries:
            return None
        if self.plan.blas_threshold is not None:
            return self.plan.blas_threshold
        import faiss

        from annbench.runner.blas import default_threshold

        return default_threshold(self.d, faiss.__version__)


def first_keys(all_keys: list[list[dict]]) -> list[list[dict]]:
    """Each build's keys less those an earlier build already measures (one build of the same settings
    but other re-rank depths can share points with another): a point is measured once a sweep."""
    seen: set[str] = set()
    out = []
    for keys in all_keys:
        mine = {pid: k for k in keys if (pid := point_id(k)) not in seen}
        seen.update(mine)
        out.append(list(mine.values()))
    return out


def run_plan(plan: Plan, results: str, argv: list[str] | None = None, executor: Executor | None = None) -> dict:
    """Execute ``plan``; returns counts of points by outcome. Bad plans raise UserError, writing nothing.

    ``executor``: where the build points run (default: one at a time in a child process here)."""
    from annbench.data.hdf5io import describe, sample_fingerprint

    checks.check_settings(plan)
    info = describe(plan.dataset)
    checks.check_dataset(plan, info)
    checks.check_filters(plan, info)
    fingerprint = sample_fingerprint(plan.dataset)
    checks.check_same_data(results, info, fingerprint)
    if not plan.memory_limit_bytes:
        plan.memory_limit_bytes = default_memory_limit()
    with results_lock(results):
        return _run(plan, results, argv or sys.argv, info, fingerprint, executor)


def _run(plan: Plan, results: str, argv: list[str], info: dict, fingerprint: str, executor: Executor | None) -> dict:
    store = ResultStore(results, neighbors=plan.save_neighbors)
    store.remove_stale_temporaries()
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    ident = Identity(plan, info["d"])
    per_build = [ident.of(bp.index) for bp in plan.builds]
    all_keys = first_keys([plan.keys(bp, env, blas) for bp, (_, env, blas) in zip(plan.builds, per_build)])
    executor = executor or LocalExecutor(plan.timeout_s, plan.memory_limit_bytes, _child_env(plan.threads))
    manifest = build_manifest(run_id, argv, plan, ident.machine,
                              {bp.index: facts["versions"] for bp, (facts, _, _) in zip(plan.builds, per_build)})
    store.write_manifest(run_id, {**manifest, "executor": executor.describe()})
    gpus_seen = len(identity.gpus()) if any(bp.device == "gpu" for bp in plan.builds) else 0
    retried = _forget_failures(store, all_keys) if plan.retry_failed else 0
    done_before = sum(store.has(k) for keys in all_keys for k in keys)
    print(f"sweep: {len(plan.builds)} build point(s), {sum(map(len, all_keys))} measured point(s), "
          f"{plan.timing.repeats} round(s) each -> {results}", file=sys.stderr)
    progress = Progress(sum(map(len, all_keys)), done_before)
    counts = {"measured": 0, "resumed": done_before, "failed": 0, "skipped": 0, "retried": retried}
    prepare_truths(plan.dataset, [k for keys in all_keys for k in keys if not store.has(k)], results, fingerprint)
    jobs = []
    for bp, keys, (facts, _, blas) in zip(plan.builds, all_keys, per_build):
        missing = [k for k in keys if not store.has(k)]
        if not missing:
            continue
        label = bp.label()
        extra = {"run_id": run_id, **facts}
        skip = _skip_reason(bp, gpus_seen)
        if skip:
            _write_status(store, plan, missing, extra, "skipped", skip)
            counts["skipped"] += len(missing)
            progress.update(progress.done + len(missing), label)
            continue
        spec = {"dataset": plan.dataset, "dataset_name": plan.dataset_name, "results": str(results),
                "dataset_fingerprint": fingerprint, "run_id": run_id, "threads": plan.threads,
                "timing": plan.timing.key(), "save_neighbors": plan.save_neighbors, "blas_threshold": blas,
                "identity": facts, "build_point": bp.spec(),
                "keys": missing}
        jobs.append(Job(label, spec, keys, missing, extra))

    start, stored = progress.done, {}

    def poll(job: Job) -> None:
        stored[id(job)] = sum(store.has(k) for k in job.missing)
        progress.update(start + sum(stored.values()), job.label)

    for job, reason in executor.run(jobs, store, poll):
        statuses = [store.status(k) for k in job.missing]
        measured, skipped = statuses.count("ok"), statuses.count("skipped")  # a worker skips what an engine refuses
        counts["measured"] += measured
        counts["skipped"] += skipped
        if reason:
            _write_status(store, plan, job.missing, {**job.extra, "node": job.spec.get("node")}, "failed", reason)
            counts["failed"] += len(job.missing) - measured - skipped
            print(f"\nannbench: {job.label} failed: {reason}", file=sys.stderr)
        poll(job)
    progress.close()
    return counts

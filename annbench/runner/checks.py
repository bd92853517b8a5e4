"""What a plan must satisfy before anything runs or is written, from the shell or from Python alike.

Every rule is a one-line :class:`UserError`; none of them writes a file.
"""

from __future__ import annotations

import math
import os

from annbench.errors import UserError
from annbench.runner import identity
from annbench.runner.plan import BuildPoint, Plan, check_point

DEVICES = ("cpu", "gpu")


def _positive(name: str, value, integer: bool = False, zero_ok: bool = False) -> None:
    kind = int if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value) \
        and (value >= 0 if zero_ok else value > 0)
    if not ok:
        what = "an integer" if integer else "a number"
        raise UserError(f"{name} must be {what} {'>= 0' if zero_ok else '> 0'}, got {value!r}")


def check_settings(plan: Plan) -> None:
    """The numbers of the plan itself."""
    _positive("threads", plan.threads, integer=True)
    cores = identity.cores()
    if plan.threads > cores:
        raise UserError(f"threads={plan.threads} exceeds the {cores} cores this process may use: threads "
                        "beyond them time the scheduler's switching, not the index")
    _positive("k", plan.k, integer=True)
    _positive("timeout", plan.timeout_s)
    _positive("memory limit", plan.memory_limit_bytes, integer=True, zero_ok=True)
    _positive("min_time", plan.timing.min_time_s)
    _positive("repeats", plan.timing.repeats, integer=True)
    _positive("min_batches", plan.timing.min_batches, integer=True)
    if plan.blas_threshold is not None:
        _positive("blas_threshold", plan.blas_threshold, integer=True, zero_ok=True)
    if not plan.nqs or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in plan.nqs):
        raise UserError(f"nq values must be positive integers, got {plan.nqs}")
    if not plan.query_sets:
        raise UserError("no query set to sweep (queries is empty)")
    if not plan.builds:
        raise UserError("nothing to sweep: no index, or no device given")
    if not isinstance(plan.save_neighbors, bool):
        raise UserError(f"save_neighbors must be true or false, got {plan.save_neighbors!r}")
    if bad := sorted({bp.device for bp in plan.builds} - set(DEVICES)):
        raise UserError(f"unknown device(s) {', '.join(map(str, bad))} (use {', '.join(DEVICES)})")
    _check_clients(plan)
    for bp in plan.builds:
        if not bp.searches or not bp.reranks:
            raise UserError(f"{bp.index}: no search setting or re-rank depth to measure")
        for rerank in bp.reranks:
            _positive("rerank", rerank, integer=True, zero_ok=True)
        _check_spread(bp)


def _check_spread(bp: BuildPoint) -> None:
    """A GPU count of at least one; past one, a GPU point and a known mode."""
    from annbench.backends.gpu_common import GPU_MODES

    if bp.gpus == 1:
        return
    _positive("gpus", bp.gpus, integer=True)
    if bp.device != "gpu":
        raise UserError(f"{bp.index}: gpus={bp.gpus} spreads a GPU point, not a {bp.device} one")
    if bp.gpu_mode not in GPU_MODES:
        raise UserError(f"unknown gpu mode {bp.gpu_mode!r} (use {', '.join(GPU_MODES)})")


def _check_clients(plan: Plan) -> None:
    from annbench.runner.clients import MAX_CLIENTS

    if plan.clients == [None]:
        return
    if not plan.clients:
        raise UserError("clients: no value given")
    for c in plan.clients:
        _positive("clients", c, integer=True)
        if c > MAX_CLIENTS:
            raise UserError(f"clients must be at most {MAX_CLIENTS}, got {c}")
    if any(bp.device == "gpu" for bp in plan.builds):
        raise UserError("--clients runs on the CPU only: a GPU index has one caller (faiss's GPU resources are not "
                        "thread-safe, and forked clients lose the CUDA context); sweep --device gpu without --clients")
    if plan.threads != 1:
        raise UserError(f"with --clients every client searches single-threaded: give --threads 1 (or leave it out), "
                        f"got {plan.threads}")


def check_dataset(plan: Plan, info: dict) -> None:
    """The plan against its dataset: query sets, k, nq, metric, index parameters, a float parent for re-rank."""
    if plan.k > info["n"]:
        raise UserError(f"k={plan.k} must be between 1 and the base size n={info['n']}")
    for name in plan.query_sets:
        if name not in info["query_sets"]:
            raise UserError(f"dataset has no query set {name!r} (it has: {', '.join(info['query_sets'])})")
        n_queries, depth, _ = info["query_sets"][name]
        if plan.k > depth:
            raise UserError(f"k={plan.k} exceeds the ground-truth depth {depth} of query set {name!r}")
        if max(plan.nqs) > n_queries:
            raise UserError(f"nq={max(plan.nqs)} exceeds the {n_queries} queries of query set {name!r}: "
                            "its batches would repeat queries (cache-warm); use a larger query set")
    _check_metric(plan, info)
    for bp in plan.builds:  # a plan made in Python gets the checks the command line's gets
        for search in bp.searches:
            check_point(bp.index, bp.build, search, info["n"], info["d"])


def check_filters(plan: Plan, info: dict) -> None:
    """Every filter resolves on the dataset (known attribute and operator) and passes at least k rows,
    so that recall@k against the filtered truth can reach 1."""
    if not any(plan.filters):
        return
    from annbench.data.attributes import read_attribute_file
    from annbench.data.filters import row_filter

    attributes = read_attribute_file(plan.dataset)
    for flt in plan.filters:
        if flt is None:
            continue
        rf = row_filter(flt, attributes, info["n"])
        if rf.passing < plan.k:
            raise UserError(f"filter {rf.expression} passes {rf.passing} base row(s), fewer than k={plan.k}: "
                            "raise the selectivity or lower k")


def _check_metric(plan: Plan, info: dict) -> None:
    """A float index on binary codes (or the reverse) measures nothing; re-rank needs the float parent."""
    from annbench.backends import registry

    for name in dict.fromkeys(bp.index for bp in plan.builds):
        metrics = registry.get(name).metrics
        if info["metric"] not in metrics:
            raise UserError(f"index {name!r} searches {'/'.join(metrics)} data, but dataset {info['name']!r} "
                            f"is {info['metric']} ({info['point_type']} vectors)")
    if any(r for bp in plan.builds for r in bp.reranks):
        if info["point_type"] != "bit":
            raise UserError(f"rerank re-scores binary codes with their float parent; dataset {info['name']!r} "
                            "holds float vectors")
        from annbench.data.parent import check_parent

        check_parent(plan.dataset)  # is the parent there? (workers also check its fingerprint)


def check_same_data(results: str, info: dict, fingerprint: str) -> None:
    """Records are keyed by dataset name: refuse to resume onto records of a different dataset
    that carries the same name (say clip-synth made again at another n or seed), which would pass as done."""
    from annbench.data.hdf5io import same_fingerprint_version
    from annbench.results.store import ResultStore

    if not os.path.isdir(os.path.join(results, "records")):
        return
    for rec in ResultStore(results).iter_records():
        if rec.get("dataset") != info["name"] or rec.get("status") != "ok":
            continue
        if (rec.get("nb"), rec.get("d")) != (info["n"], info["d"]):
            raise UserError(f"{results} holds results for a dataset {info['name']!r} of n={rec.get('nb')} "
                            f"d={rec.get('d')}, but this one has n={info['n']} d={info['d']}: "
                            f"give another --results, or rename the dataset")
        stored = rec.get("dataset_fingerprint") or ""
        if stored and same_fingerprint_version(stored, fingerprint) and stored != fingerprint:
            raise UserError(f"{results} holds results for another dataset named {info['name']!r} (same size, "
                            f"other vectors): give another --results, or rename the dataset")
        return

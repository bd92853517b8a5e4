"""One build point, in a child process: build once, then measure every missing point in rounds.

Run as ``python -m annbench.runner.worker SPEC.json``. Round r of every point
runs before round r + 1 of any (interleaving: drift in machine load hits
every setting alike); the first round also yields the ids for recall. A
point's record is written, atomically, as soon as its last round is done, so
whatever completed survives a crash of this process; a build point that
times out or crashes before then loses the points not yet written (they are
recorded as failed, with the reason).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime, timezone


def _configure(spec: dict) -> None:
    import faiss

    faiss.omp_set_num_threads(spec["threads"])
    if spec.get("blas_threshold") is not None:
        faiss.cvar.distance_compute_blas_threshold = int(spec["blas_threshold"])


def _build(cls, ds, bp: dict, threads: int, peak, filters=None, gpu=None) -> tuple[object, dict]:
    """Train on the training rows, add the base chunk by chunk as read from the file; only the calls
    into the library are timed (reading the file is not). A backend that filters gets the filters first."""
    import numpy as np

    from annbench.runner.base_rows import chunks, training_rows
    from annbench.runner.memory import release_free_memory, rss

    index = cls(ds.d, ds.metric, bp["device"], threads, **bp["build"], **_spread(bp))
    if filters is not None:
        filters.hand_over(index)
    rss0 = rss()
    peak.reset()
    if gpu is not None:
        gpu.build_started()
    xt = training_rows(ds.xb) if cls.trains else np.zeros((0, ds.xb.shape[1]), dtype=ds.xb.dtype)
    train_rows = len(xt) if cls.trains else None
    t0 = time.perf_counter()
    index.train(xt)
    train_s = time.perf_counter() - t0
    del xt
    release_free_memory()
    add_s = 0.0
    for part in chunks(ds.xb, whole=not cls.adds_in_chunks):
        t1 = time.perf_counter()
        index.add(part)
        add_s += time.perf_counter() - t1
    info = {"train_s": train_s, "train_rows": train_rows, "add_s": add_s, "build_s": train_s + add_s,
            "rss_before_build_bytes": rss0,
            "memory_bytes": max(0, rss() - rss0), "peak_rss_build_bytes": peak.peak(),
            "memory_method": peak.method}
    if gpu is not None:  # before stats(), whose copies of a GPU index must not count as the index
        info.update(gpu.build_fields())
    stats = index.stats()
    info["index_bytes"] = stats.get("index_bytes")
    info.update({k: v for k, v in stats.items() if k.endswith("_s")})  # phases a backend times apart (milvus)
    return index, info


def _spread(bp: dict) -> dict:
    """``gpus`` and ``gpu_mode`` for the backend's constructor, of a point spread over several GPUs only
    (a backend that offers no spread never gets them: the sweep skips such points)."""
    return {"gpus": bp["gpus"], "gpu_mode": bp["gpu_mode"]} if bp.get("gpus") else {}


def _points(spec: dict, ds, index, rerank, store, filters, gpu=None) -> list:
    """The points still missing, in key order (search settings together), each with its search stage."""
    from annbench.backends import registry
    from annbench.runner.clients import client_fields
    from annbench.runner.point import Point
    from annbench.runner.timing import QueryOrder

    mode = registry.get(spec["build_point"]["index"]).concurrency
    seed, orders, points = spec["timing"]["seed"], {}, []
    for key in spec["keys"]:
        if store.has(key):
            continue
        qs = ds.query_set(key["query_set"])
        search, queries, extra = rerank.search_inputs(index, qs, key["rerank"])
        search, how = filters.search(index, search, key)
        slot = (qs.name, bool(key["rerank"]))
        if slot not in orders:
            orders[slot] = QueryOrder(queries, seed)
        depth = max(key["rerank"], key["k"]) if key["rerank"] else 0
        extra = {**extra, **how, **client_fields(key.get("clients"), mode)}
        points.append(Point(key, search, orders[slot], extra, depth, truth=filters.truth(key, qs)))
        if gpu is not None:
            gpu.attach(points[-1], index)
    return points


def _quality(p, ds, ids, truths, store, save: bool) -> dict:
    from annbench.metrics import all_recalls, float_recalls, recall_ties
    from annbench.quality import task_quality

    qs, k = ds.query_set(p.key["query_set"]), p.key["k"]
    filtered = p.truth is not None  # judged against the truth over its rows; the task's pairs may not pass
    gt_I, gt_D = p.truth if filtered else (qs.neighbors, qs.distances)
    out = {"modality": qs.modality, "n_queries": qs.nq}
    out.update(all_recalls(ds.xb, qs.queries, ids, gt_I, gt_D, k, ds.metric))
    out.update(float_recalls(ids, *((None, None) if filtered else truths.get(qs.name, (None, None))), k))
    out.update(task_quality(ids, qs.neighbors, None if filtered else qs.pairs, qs.task))
    if save:
        out["neighbors_file"] = store.write_neighbors(p.key, ids)
        per_query = recall_ties(ids, gt_I, gt_D, k)
        out["per_query_recall_file"] = store.write_per_query(p.key, "recall", per_query)
    return out


def _time(p, rule, ids):
    """One round of a point: one caller issuing batches, or ``clients`` concurrent ones (runner/clients.py),
    run the way the point's record says (``clients_mode``, from the backend's ``concurrency``)."""
    from annbench.runner.clients import time_clients
    from annbench.runner.timing import search_all, time_round

    nq, k, clients = p.key["nq"], p.key["k"], p.key.get("clients")
    if not clients:
        if p.gpu is not None:
            return p.gpu.round(lambda: time_round(p.search, p.order, nq, k, rule, ids), nq, k, rule)
        return time_round(p.search, p.order, nq, k, rule, ids)
    mode = p.extra["clients_mode"]
    rnd = time_clients(p.search, p.order, nq, k, clients, rule.round_ns, mode)
    if mode == "threads":  # the clients searched in this process: its counters saw them
        rnd.searched = rnd.queries + clients * nq
    if ids is not None:  # recall: the whole query set, untimed, here
        rnd.searched += search_all(p.search, p.order, k, ids)
    return rnd


def _measure(points: list, index, ds, truths, store, spec: dict, peak, write, rounds: slice = slice(None)) -> None:
    """Round r of every point, then round r + 1 (``rounds`` of them); a point is written as soon as its
    last round is done."""
    from annbench.runner.memory import release_free_memory
    from annbench.runner.point import empty_ids
    from annbench.runner.timing import TimingRule

    rule = TimingRule(**{k: v for k, v in spec["timing"].items() if k != "rule"})
    for r in range(rule.repeats)[rounds]:
        current = None
        for p in points:
            if p.key["search"] != current:
                index.set_search_params(**p.key["search"])
                current = p.key["search"]
            ids = empty_ids(p.order.n, p.key["k"]) if r == 0 else None
            before = index.stats()
            start = peak.reset()
            rnd = _time(p, rule, ids)
            p.add_round(rnd, before, index.stats(), start, peak.peak())
            if ids is not None:
                p.quality = _quality(p, ds, ids, truths, store, spec.get("save_neighbors", False))
                release_free_memory()  # recall's buffers must not count in the next point's resident size
            if r == rule.repeats - 1:
                write(p)


def _measure_tuned(spec: dict, ds, index, rerank, truths, store, peak, write, filters, gpu=None) -> None:
    """``spec["tune"]`` (:mod:`annbench.runner.tune`): measure the points a bisection chooses, each chosen
    from the recall of the first round of those before it; then the other rounds of every chosen point,
    interleaved as in a sweep."""
    from annbench.results.schema import point_id
    from annbench.runner.tune import tune_build

    chosen: list = []

    def measure(keys: list[dict]) -> dict[str, dict]:
        points = _points({**spec, "keys": keys}, ds, index, rerank, store, filters, gpu)
        _measure(points, index, ds, truths, store, spec, peak, write, slice(0, 1))
        chosen.extend(points)
        return {point_id(p.key): p.quality for p in points}

    tune_build(spec["keys"], spec["tune"], measure, store.record)
    _measure(chosen, index, ds, truths, store, spec, peak, write, slice(1, None))


def run(spec: dict) -> None:
    from annbench.backends import registry
    from annbench.data.hdf5io import read_dataset
    from annbench.data.parent import float_truth
    from annbench.errors import Unsupported
    from annbench.results.store import ResultStore
    from annbench.runner.gpu_side import GpuSide
    from annbench.runner.memory import PeakRSS, release_free_memory
    from annbench.runner.filtered import Filters
    from annbench.runner.point import bytes_per_vector
    from annbench.runner.rerank import RerankSource

    import numpy as np

    _configure(spec)
    store = ResultStore(spec["results"], neighbors=bool(spec.get("save_neighbors")))
    ds = read_dataset(spec["dataset"], spec["dataset_name"], lazy_base=True)  # rows read as needed
    bp = spec["build_point"]
    cls = registry.get(bp["index"])
    rerank = RerankSource(spec["dataset"], ds)
    if any(key["rerank"] for key in spec["keys"]):
        rerank.load()  # a missing or changed float parent fails the build point before it is built
    peak = PeakRSS()
    gpu = GpuSide.open(cls, bp["device"], bp.get("gpus") or 1)
    filters = Filters(ds, spec["keys"], spec["results"], spec["dataset_fingerprint"])
    try:
        index, build_info = _build(cls, ds, bp, spec["threads"], peak, filters, gpu)
    except Unsupported as exc:  # the engine cannot build this (Milvus Lite and IVF_PQ): skipped, with its reason
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for key in spec["keys"]:
            store.write_record(key, {"run_id": spec["run_id"], "dataset_path": spec["dataset"], "node": spec.get("node"),
                                     **spec["identity"], "status": "skipped", "reason": str(exc), "time": now})
        return
    release_free_memory()  # what the build freed is not the index
    base = {"run_id": spec["run_id"], "dataset_path": spec["dataset"], "metric": ds.metric,
            "dataset_fingerprint": spec["dataset_fingerprint"], "nb": ds.nb, "d": ds.d,
            "point_type": ds.point_type, "vector_bytes": ds.xb.shape[1] * np.dtype(ds.xb.dtype).itemsize,
            "parent_dataset": ds.attrs.get("parent_name"), "scale_family": ds.attrs.get("scale_family"),
            "node": spec.get("node"), **spec["identity"], **build_info,
            "bytes_per_vector": bytes_per_vector(build_info["index_bytes"], ds.nb)}
    def write(p) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        store.write_record(p.key, {**base, **p.fields(), "status": "ok", "reason": "", "time": now})

    truths = float_truth(spec["dataset"], ds)
    if spec.get("tune"):  # annbench tune: the points are chosen as they are measured
        _measure_tuned(spec, ds, index, rerank, truths, store, peak, write, filters, gpu)
    else:
        _measure(_points(spec, ds, index, rerank, store, filters, gpu), index, ds, truths, store, spec, peak, write)
    peak.close()
    if gpu is not None:
        gpu.close()


def _die_with_parent() -> None:
    """A sweep killed with kill -9 must not leave its worker running on (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    _die_with_parent()
    with open(argv[0]) as fh:
        spec = json.load(fh)
    os.environ.setdefault("OMP_NUM_THREADS", str(spec["threads"]))
    run(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

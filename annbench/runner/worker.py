"""One build point, in a child process: build once, then measure every missing point.

Run as ``python -m annbench.runner.worker SPEC.json``; records go straight to the
result store (atomically), so whatever completed survives a crash of this process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime, timezone


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _configure(spec: dict) -> int | None:
    import faiss

    faiss.omp_set_num_threads(spec["threads"])
    if spec.get("blas_threshold") is not None:
        faiss.cvar.distance_compute_blas_threshold = int(spec["blas_threshold"])
    return int(faiss.cvar.distance_compute_blas_threshold)


def _build(cls, ds, d: int, bp: dict, threads: int) -> tuple[object, dict]:
    index = cls(d, ds.metric, bp["device"], threads, **bp["build"])
    rss0 = _rss()
    t0 = time.perf_counter()
    index.train(ds.xb)
    t1 = time.perf_counter()
    index.add(ds.xb)
    t2 = time.perf_counter()
    info = {"train_s": t1 - t0, "add_s": t2 - t1, "build_s": t2 - t0,
            "memory_bytes": max(0, _rss() - rss0)}
    info["index_bytes"] = index.stats().get("index_bytes")
    return index, info


def _ndis(before: dict, after: dict, queries: int) -> float | None:
    if "ndis" not in after:
        return None
    return (after["ndis"] - before.get("ndis", 0)) / max(1, queries)


def run(spec: dict) -> None:
    from annbench.backends import registry
    from annbench.data.hdf5io import read_dataset
    from annbench.data.parent import float_truth
    from annbench.metrics import all_recalls, float_recalls
    from annbench.results.store import ResultStore
    from annbench.runner.rerank import RerankSource
    from annbench.runner.timing import measure

    blas = _configure(spec)
    store = ResultStore(spec["results"])
    ds = read_dataset(spec["dataset"], spec["dataset_name"])
    bp = spec["build_point"]
    cls = registry.get(bp["index"])
    rerank = RerankSource(spec["dataset"], ds)
    if any(key["search"].get("rerank") for key in spec["keys"]):
        rerank.load()  # a missing or changed float parent fails the build point before it is built
    d = ds.d
    index, build_info = _build(cls, ds, d, bp, spec["threads"])
    base = {"run_id": spec["run_id"], "dataset_path": spec["dataset"], "metric": ds.metric,
            "dataset_fingerprint": spec.get("dataset_fingerprint", ""),
            "nb": ds.nb, "d": d, "point_type": ds.point_type, "bytes_per_vector": ds.xb.shape[1] * ds.xb.itemsize,
            "parent_dataset": ds.attrs.get("parent_name"),
            "distance_compute_blas_threshold": blas, **build_info}
    truths = float_truth(spec["dataset"], ds)
    current = None
    for key in spec["keys"]:
        if store.has(key):
            continue
        qs = ds.query_set(key["query_set"])
        if key["search"] != current:
            index.set_search_params(**key["search"])
            current = key["search"]
        search, queries, rerank_fields = rerank.search_inputs(index, qs, key["search"].get("rerank", 0))
        before = index.stats()
        timing = measure(search, queries, key["k"], key["nq"], spec["min_time_s"])
        after = index.stats()
        record = {**base, **timing.summary(), "status": "ok", "reason": "",
                  "modality": qs.modality, "n_queries": qs.nq,
                  "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "ndis_per_query": _ndis(before, after, timing.queries_searched), **rerank_fields}
        record.update(all_recalls(ds.xb, qs.queries, timing.I, qs.neighbors, qs.distances, key["k"], ds.metric))
        record.update(float_recalls(timing.I, *truths.get(qs.name, (None, None)), key["k"]))
        if spec.get("save_neighbors"):
            record["neighbors_file"] = store.write_neighbors(key, timing.I)
        store.write_record(key, record)


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

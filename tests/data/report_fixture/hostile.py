"""A results directory whose every string is an attack: for the report's escaping tests.

``make_hostile_results(root)`` writes a tiny dataset (captions are script tags)
and a few records whose dataset, query set, index, parameters, reasons and
manifest fields carry HTML/JS payloads, plus ``$`` and ``_`` that trip matplotlib.
If any payload ran, it would set ``window.__pwned``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annbench.data.hdf5io import write_dataset
from annbench.data.model import Dataset, QuerySet
from annbench.results.store import ResultStore

CAPTION = "<script>alert(1)</script>"
DATASET = "evil</script><script>window.__pwned=1</script>"
QUERY_SET = "text\"'><svg onload=window.__pwned=1>"
INDEX = "_hnsw<img src=x onerror=window.__pwned=1>"
BUILD = {"factory": "IVF4,Flat</script><script>window.__pwned=1</script>", "M": 8}
MODE = "<b onmouseover=window.__pwned=1>$x$</b>"
REASON = "<script>window.__pwned=1</script> failed"
# the rest of a record's key, hostile too where it is text
IDENTITY = {"rerank": 0, "timing": {"rule": "<b>rule</b>", "repeats": 1}, "blas_threshold": None, "env": "<i>env</i>"}
PAYLOADS = ("<script>alert", "<script>window", "<img src=x", "<svg onload", "<b onmouseover", "<b>lib</b>")


def _dataset(path: Path, nb: int = 30, nq: int = 4, d: int = 8) -> Dataset:
    rng = np.random.default_rng(0)
    xb = rng.normal(size=(nb, d)).astype(np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq = xb[:nq] + 0.1 * rng.normal(size=(nq, d)).astype(np.float32)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    dist = 1.0 - xq @ xb.T
    ids = np.argsort(dist, axis=1, kind="stable")[:, :10]
    qs = QuerySet(QUERY_SET, xq, ids, np.take_along_axis(dist, ids, 1), modality="<i>text</i>",
                  labels=[CAPTION] * nq)
    ds = Dataset(DATASET, "angular", xb, {QUERY_SET: qs}, base_labels=[f"{CAPTION} #{i}" for i in range(nb)])
    write_dataset(ds, path, force=True)
    return ds


def make_hostile_results(root: Path) -> Path:
    """Write the hostile dataset and results under ``root``; returns the results directory."""
    root.mkdir(parents=True, exist_ok=True)
    ds = _dataset(root / "evil.hdf5")
    truth = ds.query_sets[QUERY_SET].neighbors
    store = ResultStore(root / "results")
    for n, ef in enumerate((8, 16, 32)):
        ids = truth.copy()
        ids[:, 10 - (3 - n):] = 29 - np.arange(3 - n)  # fewer misses as ef grows
        for nq in (1, 4):
            key = {"dataset": DATASET, "query_set": QUERY_SET, "index": INDEX, "build": BUILD,
                   "search": {"ef": ef, "mode": MODE}, "nq": nq, "k": 10, "device": "cpu", "threads": 1, **IDENTITY}
            rec = {"status": "ok", "reason": None, "recall": 0.7 + 0.1 * n, "recall_ties": 0.7 + 0.1 * n,
                   "recall_eps": 0.7 + 0.1 * n, "qps": 1000.0 / (n + 1) * nq, "batch_p50_ms": (n + 1) * 1.0,
                   "batch_p95_ms": (n + 1) * 1.2, "batch_p99_ms": (n + 1) * 1.4, "train_s": 0.0, "add_s": 0.01,
                   "build_s": 0.01, "index_bytes": 4096, "memory_bytes": 8192, "run_id": "<b>run</b>",
                   "modality": "<i>text</i>", "metric": "angular", "nb": 30, "d": 8, "n_queries": 4,
                   "dataset_path": str(root / "evil.hdf5"),
                   "machine": {"cpu_model": "<script>window.__pwned=1</script>", "cores": 1, "gpus": ["<b>gpu</b>"]},
                   "versions": {"<b>lib</b>": "<b>lib</b>==1.0"}}
            if nq == 4:
                rec["neighbors_file"] = store.write_neighbors(key, ids)
            store.write_record(key, rec)
    bad = {"dataset": DATASET, "query_set": QUERY_SET, "index": INDEX, "build": {"nlist": "<b>9</b>"},
           "search": {}, "nq": 4, "k": 10, "device": "cpu", "threads": 1, **IDENTITY}
    store.write_record(bad, {"status": "failed", "reason": REASON, "run_id": "<b>run</b>"})
    store.write_manifest("<b>run</b>", {"machine": {"cpu_model": "<script>window.__pwned=1</script>", "cores": 1,
                                                    "gpus": ["<img src=x onerror=window.__pwned=1>"]},
                                        "versions": {"<b>lib</b>": "1.0"}, "command": "annbench sweep $HOME"})
    return root / "results"

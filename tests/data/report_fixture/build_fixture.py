"""Rebuild the report's fixed test results: ``python tests/data/report_fixture/build_fixture.py``.

A tiny CLIP-like dataset (two query sets on one base of captioned "images") is
searched with real faiss indexes, so recalls and returned ids are real; the
timings and build times are made up by a fixed formula (no test may depend on
this machine's speed). GPU points reuse the CPU ids with GPU-like timings, and
a few failed and skipped points are included. Run from the repository root;
the output is committed and the tests never rebuild it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import faiss
import numpy as np

from annbench.data.hdf5io import write_dataset
from annbench.data.model import Dataset, QuerySet
from annbench.groundtruth import exact_knn
from annbench.metrics import all_recalls
from annbench.results.store import ResultStore

HERE = Path(__file__).resolve().parent
DATASET_ARG = "tests/data/report_fixture/tiny-clip.hdf5"  # as given to the sweep, from the repo root
CONCEPTS = ("dog", "cat", "bicycle", "beach", "mountain", "pizza", "guitar", "boat", "tree", "car", "bird", "child")
ADJECTIVES = ("black", "small", "red", "sunny", "snowy", "old", "happy", "wet")
NB, D, NQ, K, THREADS = 400, 32, 40, 10, 2
NQS = (1, 8, 40)
TIME = "2025-01-15T10:00:00+00:00"


def make_dataset(rng: np.random.Generator) -> Dataset:
    centers = rng.normal(size=(len(CONCEPTS), D))
    gap = rng.normal(size=D) * 0.6  # the modality gap: texts sit apart from images
    concept = rng.integers(0, len(CONCEPTS), NB + NQ)
    adjective = rng.integers(0, len(ADJECTIVES), NB + NQ)
    images = centers[concept] + rng.normal(scale=1.6, size=(NB + NQ, D))
    captions = [f"a {ADJECTIVES[a]} {CONCEPTS[c]}" + (" outside" if i % 3 else "") for i, (a, c)
                in enumerate(zip(adjective, concept))]
    text_concept = rng.integers(0, len(CONCEPTS), NQ)
    texts = centers[text_concept] + gap + rng.normal(scale=1.2, size=(NQ, D))
    text_labels = [f"a photo of a {CONCEPTS[c]}" for c in text_concept]
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    xb = unit(images[:NB])
    sets = {}
    for name, modality, xq, labels in (("text", "text", unit(texts), text_labels),
                                       ("image", "image", unit(images[NB:]), captions[NB:])):
        dist, ids = exact_knn(xb, xq, k=20, metric="angular", use_gpu=False)
        sets[name] = QuerySet(name, xq, ids, dist, modality=modality, labels=labels)
    return Dataset("tiny-clip", "angular", xb, sets, base_modality="image", base_labels=captions[:NB])


def settings() -> list[tuple[str, dict, dict]]:
    out = [("flat", {}, {})]
    out += [("ivf_flat", {"nlist": nl}, {"nprobe": p}) for nl in (8, 32) for p in (1, 2, 4, 8)]
    out += [("hnsw", {"M": m, "efConstruction": 40}, {"efSearch": ef}) for m in (4, 12) for ef in (10, 20, 40, 80)]
    return out


def build_index(index: str, build: dict, xb: np.ndarray) -> faiss.Index:
    if index == "flat":
        idx = faiss.IndexFlatIP(D)
    elif index == "ivf_flat":
        idx = faiss.IndexIVFFlat(faiss.IndexFlatIP(D), D, build["nlist"], faiss.METRIC_INNER_PRODUCT)
        idx.train(xb)
    else:
        idx = faiss.IndexHNSWFlat(D, build["M"], faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = build["efConstruction"]
    idx.add(xb)
    return idx


def search(idx: faiss.Index, index: str, params: dict, xq: np.ndarray) -> np.ndarray:
    if index == "ivf_flat":
        idx.nprobe = params["nprobe"]
    elif index == "hnsw":
        idx.hnsw.efSearch = params["efSearch"]
    return idx.search(xq, K)[1].astype(np.int64)


def cost_us(index: str, build: dict, params: dict) -> float:
    """Made-up microseconds per query: the shape of real curves, not this machine's."""
    if index == "flat":
        return 60.0
    if index == "ivf_flat":
        return 4.0 + 60.0 * params["nprobe"] / build["nlist"]
    return 3.0 + 0.25 * params["efSearch"] * (build["M"] / 8) ** 0.5


def timings(index: str, build: dict, params: dict, nq: int, device: str, seed: str) -> dict:
    noise = np.random.default_rng(int(hashlib.sha1(seed.encode()).hexdigest()[:8], 16)).lognormal(0, 0.05)
    if device == "gpu":
        p50 = (0.15 + nq * cost_us(index, build, params) / 40 / 1000 / min(nq, 1000) ** 0.8) * noise
    else:
        p50 = (0.02 + nq * cost_us(index, build, params) / 1000 / min(nq, THREADS) ** 0.9) * noise
    return {"batch_p50_ms": round(p50, 5), "batch_p95_ms": round(p50 * 1.15, 5),
            "batch_p99_ms": round(p50 * 1.3, 5), "qps": round(nq / p50 * 1000, 2),
            "batches_timed": max(NQ // nq, 3), "measure_s": 0.5}


def build_costs(index: str, build: dict, idx: faiss.Index, device: str) -> dict:
    train = {"flat": 0.0, "ivf_flat": 0.002 * build.get("nlist", 0), "hnsw": 0.0}[index]
    add = {"flat": 0.0004, "ivf_flat": 0.003, "hnsw": 0.02 * build.get("M", 8) / 8}[index]
    if device == "gpu":
        train, add = train / 5, add / 3 + 0.05
    size = int(faiss.serialize_index(idx).size)
    return {"train_s": round(train, 5), "add_s": round(add, 5), "build_s": round(train + add, 5),
            "index_bytes": size, "memory_bytes": int(size * 1.08)}


def base_record(ds: Dataset, qs: QuerySet, run_id: str) -> dict:
    return {"run_id": run_id, "time": TIME, "modality": qs.modality, "metric": ds.metric, "nb": ds.nb,
            "d": ds.d, "n_queries": qs.nq, "dataset_path": DATASET_ARG, "distance_compute_blas_threshold": 20}


def write_points(store: ResultStore, ds: Dataset, qs: QuerySet) -> None:
    for index, build, params in settings():
        idx = build_index(index, build, ds.xb)
        I = search(idx, index, params, qs.queries)
        recalls = all_recalls(ds.xb, qs.queries, I, qs.neighbors, qs.distances, K, ds.metric)
        for device in ("cpu", "gpu") if index != "hnsw" else ("cpu",):
            costs = build_costs(index, build, idx, device)
            for nq in NQS:
                key = {"dataset": ds.name, "query_set": qs.name, "index": index, "build": build,
                       "search": params, "nq": nq, "k": K, "device": device, "threads": THREADS}
                rec = base_record(ds, qs, f"fixture-{device}") | {"status": "ok", "reason": None}
                rec |= {name: round(v, 6) for name, v in recalls.items()} | costs
                rec |= timings(index, build, params, nq, device, f"{key}")
                rec["ndis_per_query"] = {"flat": NB, "hnsw": None}.get(index, NB * params.get("nprobe", 1) // max(build.get("nlist", 1), 1))
                if nq == NQS[-1] and device == "cpu":
                    rec["neighbors_file"] = store.write_neighbors(key, I)
                store.write_record(key, rec)


def write_failures(store: ResultStore, ds: Dataset, qs: QuerySet) -> None:
    bad = [("ivf_pq", {"nlist": 16, "M": 7, "nbits": 8}, {"nprobe": 4}, "cpu", "failed",
            "faiss: d=32 is not a multiple of M=7"),
           ("hnsw", {"M": 8, "efConstruction": 40}, {"efSearch": 16}, "gpu", "skipped", "hnsw has no GPU version"),
           ("annoy", {"n_trees": 10}, {"search_k": 100}, "cpu", "skipped", "annoy is not installed")]
    for index, build, params, device, status, reason in bad:
        key = {"dataset": ds.name, "query_set": qs.name, "index": index, "build": build, "search": params,
               "nq": NQS[-1], "k": K, "device": device, "threads": THREADS}
        store.write_record(key, base_record(ds, qs, f"fixture-{device}") | {"status": status, "reason": reason})


def manifest(device: str) -> dict:
    gpus = [{"name": "NVIDIA H100 80GB HBM3", "memory_bytes": 85899345920}] if device == "gpu" else []
    return {"run_id": f"fixture-{device}", "time": TIME, "command": f"annbench sweep --config fixture-{device}.yaml",
            "threads": THREADS, "distance_compute_blas_threshold": 20,
            "machine": {"cpu_model": "Fixture CPU @ 2.0GHz", "cores": 2, "memory_bytes": 8 << 30, "gpus": gpus},
            "versions": {"annbench": "0.1.0", "faiss": "1.9.0", "hnswlib": "0.8.0", "annoy": None,
                         "numpy": "2.0.0", "python": "3.11.2"}}


def main() -> None:
    faiss.omp_set_num_threads(1)  # deterministic graph construction
    ds = make_dataset(np.random.default_rng(7))
    write_dataset(ds, HERE / "tiny-clip.hdf5", force=True)
    shutil.rmtree(HERE / "results", ignore_errors=True)
    store = ResultStore(HERE / "results")
    for qs in ds.query_sets.values():
        write_points(store, ds, qs)
        write_failures(store, ds, qs)
    for device in ("cpu", "gpu"):
        store.write_manifest(f"fixture-{device}", manifest(device))


if __name__ == "__main__":
    main()

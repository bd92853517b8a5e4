"""Re-rank binary candidates with the parent's float vectors, inside the timed search.

A binary index is asked for ``max(R, k)`` candidates; their exact float scores
(cosine, as inner product on unit vectors, or L2) pick the final k. The float
query travels beside its code in one structured row (``pair_queries``), so the
runner's timing loop, which only slices rows, hands the wrapper both and the
wrapper's gather and re-score are timed with the search. The index itself is
untouched: its interface has no re-rank method to call.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from annbench.data.model import Dataset, QuerySet


def pair_queries(codes: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """One structured row per query: ``code`` (packed uint8) and ``vec`` (float32)."""
    dtype = np.dtype([("code", np.uint8, (codes.shape[1],)), ("vec", np.float32, (vectors.shape[1],))])
    rows = np.empty(len(codes), dtype=dtype)
    rows["code"], rows["vec"] = codes, vectors
    return rows


def _distances(xb: np.ndarray, xq: np.ndarray, I: np.ndarray, metric: str) -> np.ndarray:
    """Float distances of the candidates; the gathered (queries x R x d) block is bounded in size."""
    out = np.empty(I.shape, dtype=np.float32)
    step = max(1, (1 << 24) // max(1, I.shape[1] * xb.shape[1]))
    for s in range(0, len(I), step):
        vecs = xb[I[s:s + step]]
        q = xq[s:s + step]
        if metric == "angular":
            out[s:s + step] = 1.0 - np.einsum("qcd,qd->qc", vecs, q)
        else:
            out[s:s + step] = np.sqrt(np.maximum(((vecs - q[:, None, :]) ** 2).sum(-1), 0.0))
    return out


def rescore(xb: np.ndarray, xq: np.ndarray, I: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of the candidates ``I`` by exact float distance (ann-benchmarks: 1 - cos, or L2)."""
    ok = I >= 0
    dist = np.where(ok, _distances(xb, xq, np.where(ok, I, 0), metric), np.inf).astype(np.float32)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    D, I = np.take_along_axis(dist, order, 1), np.take_along_axis(I, order, 1)
    return D, np.where(np.isinf(D), -1, I)


class Reranked:
    """``search(paired_rows, k)``: the index's top ``depth`` by code, re-scored by float vector."""

    def __init__(self, index, xb_float: np.ndarray, depth: int, metric: str) -> None:
        self.index, self.xb, self.depth, self.metric = index, xb_float, depth, metric

    def search(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _, I = self.index.search(np.ascontiguousarray(rows["code"]), max(self.depth, k))
        return rescore(self.xb, np.ascontiguousarray(rows["vec"]), I, k, self.metric)


class RerankSource:
    """The parent's float vectors, loaded (and checked) the first time a point re-ranks."""

    def __init__(self, path: str | os.PathLike, ds: Dataset) -> None:
        self.path, self.ds, self.parent = path, ds, None

    def load(self) -> Dataset:
        if self.parent is None:
            from annbench.data.parent import load_parent

            self.parent = load_parent(self.path, self.ds.attrs)
        return self.parent

    def search_inputs(self, index, qs: QuerySet, rerank: int) -> tuple[Callable, np.ndarray, dict]:
        """``(search, queries, fields)`` for the timing loop: the index as is, or wrapped to re-rank.

        ``rerank_bytes_per_vector`` in ``fields`` is the float storage a re-rank needs on top of the codes.
        """
        if not rerank:
            return index.search, qs.queries, {"rerank_bytes_per_vector": 0}
        parent = self.load()
        wrapper = Reranked(index, parent.xb, rerank, parent.metric)
        fields = {"rerank_bytes_per_vector": int(parent.xb.shape[1] * parent.xb.itemsize)}
        return wrapper.search, pair_queries(qs.queries, parent.query_set(qs.name).queries), fields

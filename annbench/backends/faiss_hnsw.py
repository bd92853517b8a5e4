"""faiss's HNSW graph over the raw vectors (IndexHNSWFlat).

ndis per query: faiss's ``hnsw_stats.ndis`` (every neighbour whose distance the
greedy descent and the level-0 beam search computed) + 1, the entry point's
distance, which faiss computes before it starts counting (counted here).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.faiss_common import (FAISS_FILTERING, Selector, hnsw_entry_points, hnsw_visited,
                                            index_bytes, metric_type, set_threads)
from annbench.backends.params import check_device, require_int, require_ints, with_defaults


class HNSW:
    name: ClassVar[str] = "hnsw"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"M": 32, "ef_construction": 200}
    search_params: ClassVar[dict[str, Any]] = {"ef": 64}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = FAISS_FILTERING  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        cls = type(self)
        check_device(cls, device)
        params, search = with_defaults(cls, build, {})
        self.check_params(params, search, nb=1, d=d)
        set_threads(threads)
        self.index = faiss.IndexHNSWFlat(d, params["M"], metric_type(metric))
        self.index.hnsw.efConstruction = params["ef_construction"]
        self.index.hnsw.efSearch = search["ef"]
        self._entry_points = 0
        self._selector = Selector()
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        require_ints(cls, *with_defaults(cls, build, search))

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        # faiss searches with max(ef, k): an ef below k behaves as ef = k.
        self.index.hnsw.efSearch = require_int(type(self), "ef", search["ef"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._entry_points += hnsw_entry_points(len(xq), self.index.ntotal)
        params = self._selector.params(faiss.SearchParametersHNSW, efSearch=self.index.hnsw.efSearch)
        return self.index.search(xq, k, params=params)

    def set_filter(self, flt) -> None:
        self._selector.set(flt)

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes, "ndis": hnsw_visited() + self._entry_points}

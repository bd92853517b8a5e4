"""faiss's HNSW graph over binary codes, searched by Hamming distance (IndexBinaryHNSW).

ndis per query: faiss's ``hnsw_stats.ndis`` (binary HNSW counts there too) + 1, the
entry point's distance, which faiss computes before it starts counting (counted here).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.binary_common import as_result, check_binary, check_search
from annbench.backends.faiss_common import hnsw_entry_points, hnsw_visited, index_bytes, set_threads
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.data.bits import require_codes


class BinHNSW:
    name: ClassVar[str] = "bin_hnsw"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"M": 32, "ef_construction": 200}
    search_params: ClassVar[dict[str, Any]] = {"ef": 64}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        params, search = with_defaults(type(self), build, {})
        self.check_params(params, search, nb=1, d=d)
        set_threads(threads)
        self.index = faiss.IndexBinaryHNSW(d, params["M"])
        self.index.hnsw.efConstruction = params["ef_construction"]
        self.index.hnsw.efSearch = search["ef"]
        self._entry_points = 0
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, _ = with_defaults(cls, build, {})
        for key, value in build.items():
            require_int(cls, key, value)
        check_search(cls, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(require_codes(xb, self.name, self.nbytes))
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        # faiss searches with max(ef, k): an ef below k behaves as ef = k.
        self.index.hnsw.efSearch = check_search(type(self), params)["ef"]

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._entry_points += hnsw_entry_points(len(xq), self.index.ntotal)
        return as_result(*self.index.search(require_codes(xq, self.name, self.nbytes), k))

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes, "ndis": hnsw_visited() + self._entry_points}

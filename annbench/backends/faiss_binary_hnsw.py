"""faiss's HNSW graph over binary codes, searched by Hamming distance (IndexBinaryHNSW)."""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.binary_common import RERANK, as_result, check_binary, check_search
from annbench.backends.faiss_common import set_threads
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.data.bits import require_codes


class BinHNSW:
    name: ClassVar[str] = "bin_hnsw"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"M": 32, "ef_construction": 200}
    search_params: ClassVar[dict[str, Any]] = {"ef": 64, **RERANK}

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        params, search = with_defaults(type(self), build, {})
        self.check_params(params, search, nb=1, d=d)
        set_threads(threads)
        self.index = faiss.IndexBinaryHNSW(d, params["M"])
        self.index.hnsw.efConstruction = params["ef_construction"]
        self.index.hnsw.efSearch = search["ef"]
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
        return as_result(*self.index.search(require_codes(xq, self.name, self.nbytes), k))

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = int(faiss.serialize_index_binary(self.index).size)
        return {"index_bytes": self._bytes, "ndis": int(faiss.cvar.hnsw_stats.ndis)}

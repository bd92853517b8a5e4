"""Exact Hamming search (faiss IndexBinaryFlat): the reference for every Hamming index."""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.binary_common import RERANK, as_result, check_binary, check_search
from annbench.backends.faiss_common import set_threads
from annbench.backends.params import check_device, with_defaults
from annbench.data.bits import require_codes


class BinFlat:
    name: ClassVar[str] = "bin_flat"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {}
    search_params: ClassVar[dict[str, Any]] = {**RERANK}

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        with_defaults(type(self), build, {})
        set_threads(threads)
        self.index = faiss.IndexBinaryFlat(d)
        self._ndis = 0

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        with_defaults(cls, build, {})
        check_search(cls, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(require_codes(xb, self.name, self.nbytes))

    def set_search_params(self, **params: Any) -> None:
        check_search(type(self), params)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D, I = self.index.search(require_codes(xq, self.name, self.nbytes), k)
        self._ndis += len(xq) * self.index.ntotal
        return as_result(D, I)

    def stats(self) -> dict:
        return {"index_bytes": int(faiss.serialize_index_binary(self.index).size), "ndis": self._ndis}

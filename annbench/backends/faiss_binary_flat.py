"""Exact Hamming search (faiss IndexBinaryFlat): the reference for every Hamming index.

ndis: nb Hamming distances per query, counted here (faiss's flat search keeps no counter).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.binary_common import as_result, check_binary, check_search
from annbench.backends.faiss_common import index_bytes, set_threads
from annbench.backends.params import check_device, with_defaults
from annbench.data.bits import require_codes


class BinFlat:
    name: ClassVar[str] = "bin_flat"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {}
    search_params: ClassVar[dict[str, Any]] = {}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        with_defaults(type(self), build, {})
        set_threads(threads)
        self.index = faiss.IndexBinaryFlat(d)
        self._ndis = 0
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        with_defaults(cls, build, {})
        check_search(cls, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(require_codes(xb, self.name, self.nbytes))
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        check_search(type(self), params)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D, I = self.index.search(require_codes(xq, self.name, self.nbytes), k)
        self._ndis += len(xq) * self.index.ntotal
        return as_result(D, I)

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes, "ndis": self._ndis}

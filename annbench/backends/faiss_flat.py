"""Exact search (faiss IndexFlat): the reference every other index is compared with.

ndis: nb distances per query, counted here (faiss's flat search keeps no counter); under a filter, the
passing rows' (faiss checks the selector before it scores a row).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.faiss_common import FAISS_FILTERING, Selector, index_bytes, metric_type, set_threads
from annbench.backends.params import check_device, with_defaults


class Flat:
    name: ClassVar[str] = "flat"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {}
    search_params: ClassVar[dict[str, Any]] = {}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = FAISS_FILTERING  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.check_params(build, {}, nb=1, d=d)
        set_threads(threads)
        self.index = faiss.IndexFlat(d, metric_type(metric))
        self._ndis = 0
        self._selector = Selector()
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        with_defaults(cls, build, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        self.check_params({}, params, self.index.ntotal, self.index.d)

    def set_filter(self, flt) -> None:
        self._selector.set(flt)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D, I = self.index.search(xq, k, params=self._selector.params(faiss.SearchParameters))
        rows = self.index.ntotal if self._selector.passing is None else self._selector.passing
        self._ndis += len(xq) * rows  # brute force: every query meets every (passing) vector
        return D, I

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes, "ndis": self._ndis}

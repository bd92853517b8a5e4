"""Exact search (faiss IndexFlat): the reference every other index is compared with.

ndis: nb distances per query, counted here (faiss's flat search keeps no counter); under a filter, the
passing rows' (faiss checks the selector before it scores a row).
On ``gpu`` the empty index is moved to the GPU (faiss GpuIndexFlat) and the base added there;
stats() also holds the copy times of ``gpu_common.built_facts``. Past one GPU, replicated only:
faiss's flat shards keep no ids (GpuIndexFlat takes none), so IndexShards numbers them by shard and
takes the base in one add() only, where the runner adds it in chunks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends import gpu_common
from annbench.backends.faiss_common import FAISS_FILTERING, Selector, metric_type, set_threads
from annbench.backends.params import check_device, with_defaults


class Flat:
    name: ClassVar[str] = "flat"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    device_arrays: ClassVar[tuple[str, ...]] = ("gpu",)  # search() also takes CUDA tensors there (base.py)
    build_params: ClassVar[dict[str, Any]] = {}
    search_params: ClassVar[dict[str, Any]] = {}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = FAISS_FILTERING  # how a search keeps to a filter's rows (base.py)
    gpu_modes: ClassVar[tuple[str, ...]] = ("replicate",)  # past one GPU (--gpus N, base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, gpus: int = 1, gpu_mode: str | None = None,
                 **build: Any) -> None:
        check_device(type(self), device)
        self.check_params(build, {}, nb=1, d=d)
        set_threads(threads)
        self.index = faiss.IndexFlat(d, metric_type(metric))
        self.on_gpu = device == "gpu"
        self.spread = (gpus, gpu_mode)
        if self.on_gpu:
            gpu_common.require_gpu(type(self), gpus, gpu_mode)
            self.index = gpu_common.to_gpus(self.index, gpus, gpu_mode)
        self._ndis = 0
        self._facts: dict | None = None
        self._selector = Selector()

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        with_defaults(cls, build, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._facts = None

    def set_search_params(self, **params: Any) -> None:
        self.check_params({}, params, self.index.ntotal, self.index.d)

    def set_filter(self, flt) -> None:
        self._selector.set(flt)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.on_gpu:  # faiss's GPU indexes take no selector: filtered GPU points are post-filtered (runner)
            D, I = gpu_common.search(self.index, xq, k)
        else:
            D, I = self.index.search(xq, k, params=self._selector.params(faiss.SearchParameters))
        rows = self.index.ntotal if self._selector.passing is None else self._selector.passing
        self._ndis += len(xq) * rows  # brute force: every query meets every (passing) vector
        return D, I

    def stats(self) -> dict:
        if self._facts is None:
            self._facts = gpu_common.index_facts(self.index, self.on_gpu, *self.spread)
        return {**self._facts, "ndis": self._ndis}

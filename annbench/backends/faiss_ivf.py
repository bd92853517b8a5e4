"""Inverted-file indexes: k-means cells, a query scans the ``nprobe`` nearest cells.

IVFFlat stores the vectors as they are; IVFSQ8 stores one byte per dimension
(4x smaller, with a small loss of ranking precision).

ndis per query: nlist centroid distances (the flat coarse quantizer, counted here)
+ the entries of the probed lists (faiss's ``indexIVF_stats.ndis``), each one full
distance, to the raw vector (IVFFlat) or decoded from its bytes (IVFSQ8).

On ``gpu`` the empty index is moved to the GPU (faiss GpuIndexIVFFlat / GpuIndexIVFScalarQuantizer)
and trained (GPU k-means) and filled there; ndis is then unknown (faiss's GPU search keeps no
counter) and stats() holds the copy times of ``gpu_common.built_facts``. Past one GPU, replicated or
sharded (``gpu_common.to_gpus``): every GPU trains its member on the same rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends import gpu_common
from annbench.backends.faiss_common import (FAISS_FILTERING, Selector, ivf_scanned, metric_type,
                                            set_threads)
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.errors import UserError


def check_ivf(cls: type, build: dict, search: dict, nb: int) -> None:
    """The rules every IVF shares: a cell needs a vector, and a query cannot scan more cells than exist."""
    nlist = require_int(cls, "nlist", build["nlist"])
    nprobe = require_int(cls, "nprobe", search["nprobe"])
    if nlist > nb:
        raise UserError(f"{cls.name}: nlist={nlist} exceeds the base size {nb} (k-means needs a vector per cell)")
    if nprobe > nlist:
        raise UserError(f"{cls.name}: nprobe={nprobe} exceeds nlist={nlist}")


def check_training(cls: type, n: int, centroids: int) -> None:
    if n < centroids:
        raise UserError(f"{cls.name}: {n} training vectors cannot make {centroids} centroids")


class _IVF:
    """All but the storage of the vectors in the cells, which ``_make`` chooses."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    device_arrays: ClassVar[tuple[str, ...]] = ("gpu",)  # search() also takes CUDA tensors there (base.py)
    build_params: ClassVar[dict[str, Any]] = {"nlist": 1024}
    search_params: ClassVar[dict[str, Any]] = {"nprobe": 1}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = True  # train() fits on a sample of the base
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = FAISS_FILTERING  # how a search keeps to a filter's rows (base.py)
    gpu_modes: ClassVar[tuple[str, ...]] = gpu_common.GPU_MODES  # past one GPU (--gpus N, base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, gpus: int = 1, gpu_mode: str | None = None,
                 **build: Any) -> None:
        check_device(type(self), device)
        params, _ = with_defaults(type(self), build, {})
        set_threads(threads)
        self.nlist = require_int(type(self), "nlist", params["nlist"])
        # The quantizer compares with the same metric; for inner product faiss trains spherical k-means.
        self.quantizer = faiss.IndexFlat(d, metric_type(metric))
        self.index = self._make(d, metric_type(metric))
        self.on_gpu = device == "gpu"
        self.spread = (gpus, gpu_mode)
        if self.on_gpu:
            gpu_common.require_gpu(type(self), gpus, gpu_mode)
            self.index = gpu_common.to_gpus(self.index, gpus, gpu_mode)  # untrained: k-means runs on the GPU(s)
        gpu_common.set_nprobe(self.index, self.search_params["nprobe"])
        self._coarse = 0  # centroid distances: faiss's flat quantizer counts none
        self._facts: dict | None = None
        self._selector = Selector()

    def _make(self, d: int, metric: int) -> faiss.IndexIVF:
        raise NotImplementedError

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        check_ivf(cls, *with_defaults(cls, build, search), nb)

    def train(self, xt: np.ndarray) -> None:
        check_training(type(self), len(xt), self.nlist)
        self.index.train(xt)
        self._facts = None

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._facts = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        check_ivf(type(self), {"nlist": self.nlist}, search, nb=self.nlist)
        if self.on_gpu:
            gpu_common.check_nprobe(self.name, search["nprobe"])
        gpu_common.set_nprobe(self.index, search["nprobe"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.on_gpu:
            return gpu_common.search(self.index, xq, k)
        self._coarse += len(xq) * self.nlist
        params = self._selector.params(faiss.SearchParametersIVF, nprobe=self.index.nprobe)
        return self.index.search(xq, k, params=params)

    def set_filter(self, flt) -> None:
        self._selector.set(flt)

    def stats(self) -> dict:
        if self._facts is None:
            self._facts = gpu_common.index_facts(self.index, self.on_gpu, *self.spread)
        if self.on_gpu:
            return dict(self._facts)
        return {**self._facts, "ndis": ivf_scanned() + self._coarse}


class IVFFlat(_IVF):
    name: ClassVar[str] = "ivf_flat"

    def _make(self, d: int, metric: int) -> faiss.IndexIVF:
        return faiss.IndexIVFFlat(self.quantizer, d, self.nlist, metric)


class IVFSQ8(_IVF):
    name: ClassVar[str] = "ivf_sq8"

    def _make(self, d: int, metric: int) -> faiss.IndexIVF:
        return faiss.IndexIVFScalarQuantizer(self.quantizer, d, self.nlist, faiss.ScalarQuantizer.QT_8bit, metric)

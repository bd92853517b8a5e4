"""IVF-SQ8 with its coarse quantizer on the GPU and its lists on the CPU (the IVF_SQ8H of vector
databases: "high performance with limited GPU memory").

``gpu``: the centroids live on the GPU (a faiss GpuIndexFlat as the IVF's quantizer, which
also serves k-means assignment while training); the SQ8 codes stay in host memory and are
scanned there by faiss's OpenMP threads. Only nlist x d floats occupy the GPU.
``cpu``: the plain IVF-SQ8 on the CPU, the same as ``ivf_sq8``, so that the summary's crossover
pairs the hybrid with the CPU index of the same nlist and nprobe.

ndis as ``ivf_sq8`` (the lists are scanned on the CPU, where faiss counts them). Queries
arrive on the host, always: the lists are there (no device-only time).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends import gpu_common
from annbench.backends.faiss_common import index_bytes
from annbench.backends.faiss_ivf import IVFSQ8
from annbench.backends.params import check_device


PARALLEL_OVER_QUERIES = 3  # IndexIVF.parallel_mode: quantizer once, lists split over queries (finer grain)


class IVFSQ8H(IVFSQ8):
    name: ClassVar[str] = "ivf_sq8h"
    devices: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    device_arrays: ClassVar[tuple[str, ...]] = ()  # the lists are on the host: no device-resident search
    gpu_modes: ClassVar[tuple[str, ...]] = ()  # one GPU only: faiss's multi-GPU cloner takes no hybrid

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        super().__init__(d, metric, "cpu", threads, **build)  # the CPU IVF-SQ8 ...
        self.hybrid = device == "gpu"
        self.gpu_quantizer: faiss.Index | None = None
        if self.hybrid:  # ... whose k-means assigns on the GPU
            gpu_common.require_gpu(type(self))
            self.index.clustering_index = gpu_common.to_gpu(faiss.IndexFlat(d, self.quantizer.metric_type))
            # faiss's default splits a batch over OpenMP threads that each call the quantizer: a GPU index
            # must not be called from several threads at once. Mode 3: one quantizer call per batch, then
            # the lists scanned in parallel over the queries.
            self.index.parallel_mode = PARALLEL_OVER_QUERIES

    def train(self, xt: np.ndarray) -> None:
        super().train(xt)
        if self.hybrid:  # the trained centroids, copied to the GPU, serve add() and search()
            self.index.clustering_index = None
            self.gpu_quantizer = gpu_common.to_gpu(self.quantizer)
            self.index.quantizer = self.gpu_quantizer

    def stats(self) -> dict:
        if self._facts is None and self.gpu_quantizer is not None:
            self.index.quantizer = self.quantizer  # faiss writes a host quantizer only
            try:
                self._facts = {"index_bytes": index_bytes(self.index)}
            finally:
                self.index.quantizer = self.gpu_quantizer
        return super().stats()

"""CAGRA (faiss GpuIndexCagra, NVIDIA cuVS): a fixed-degree k-NN graph built on the GPU.

``gpu``: searched on the GPU. ``cpu``: the same graph, built on the GPU, copied to the host as
an HNSW base level (faiss IndexHNSWCagra, ``base_level_only``) and searched there by HNSW from
random entry points; ``itopk_size`` is then HNSW's ``efSearch`` (both are the length of the
candidate list the search keeps), and ``search_width`` has no CPU counterpart: it is recorded
but changes nothing. Both variants need a GPU to build: without one they are skipped ("no GPU").

stats(): ``index_bytes`` as faiss writes the host copy (vectors + graph); ``to_host_s`` the
graph's copy to the host. No ``ndis``: cuVS keeps no counter, and on the CPU the entry points'
distances escape faiss's HNSW counter.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends import gpu_common
from annbench.backends.faiss_common import index_bytes, metric_type, set_threads
from annbench.backends.params import check_setup, require_ints, with_defaults
from annbench.errors import UserError


class Cagra:
    name: ClassVar[str] = "cagra"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    device_arrays: ClassVar[tuple[str, ...]] = ("gpu",)  # search() also takes CUDA tensors there (base.py)
    build_params: ClassVar[dict[str, Any]] = {"graph_degree": 64, "intermediate_graph_degree": 128}
    search_params: ClassVar[dict[str, Any]] = {"itopk_size": 64, "search_width": 1}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = False  # the graph is built from the whole base at once
    trains: ClassVar[bool] = False          # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py); refused on a GPU
    filtering: ClassVar[str] = ""  # none: the runner post-filters (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_setup(type(self), device, metric, threads)
        params, _ = with_defaults(type(self), build, {})
        _check_build(params)
        set_threads(threads)
        gpu_common.require_gpu(type(self))
        config = faiss.GpuIndexCagraConfig()
        config.device = gpu_common.DEVICE
        config.graph_degree = params["graph_degree"]
        config.intermediate_graph_degree = params["intermediate_graph_degree"]
        self.gpu = faiss.GpuIndexCagra(gpu_common.resources(), d, metric_type(metric), config)
        self.on_gpu = device == "gpu"
        self.host: faiss.IndexHNSWCagra | None = None
        self.params = faiss.SearchParametersCagra()
        self.set_search_params()
        self._facts: dict | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        require_ints(cls, {}, search)
        _check_build(build)
        if build["intermediate_graph_degree"] >= nb:
            raise UserError(f"cagra: intermediate_graph_degree={build['intermediate_graph_degree']} needs more "
                            f"than {build['intermediate_graph_degree']} base vectors, got {nb}")

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        self.gpu.train(xb)  # GpuIndexCagra builds its graph in train()
        if not self.on_gpu:
            self.host, self._facts = _to_host(self.gpu)
            del self.gpu  # the CPU variant holds nothing on the GPU
        self.set_search_params(**{k: getattr(self.params, k) for k in self.search_params})

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        require_ints(type(self), {}, search)
        self.params.itopk_size = search["itopk_size"]
        self.params.search_width = search["search_width"]
        if self.host is not None:
            self.host.hnsw.efSearch = search["itopk_size"]

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.host is not None:
            return self.host.search(xq, k)
        return gpu_common.search(self.gpu, xq, k, self.params)

    def stats(self) -> dict:
        if self._facts is None:
            _, self._facts = _to_host(self.gpu)
        return dict(self._facts)


def _check_build(build: dict) -> None:
    require_ints(Cagra, build, {})
    if build["graph_degree"] > build["intermediate_graph_degree"]:
        raise UserError(f"cagra: graph_degree={build['graph_degree']} exceeds intermediate_graph_degree="
                        f"{build['intermediate_graph_degree']} (the graph is pruned from the intermediate one)")


def _to_host(gpu: faiss.Index) -> tuple[faiss.IndexHNSWCagra, dict]:
    """The graph and vectors on the host, as an HNSW base level, with the copy's time and size."""
    t0 = time.perf_counter()
    host = faiss.IndexHNSWCagra()
    host.base_level_only = True  # the CAGRA graph alone, no upper levels built on the CPU
    gpu.copyTo(host)
    return host, {"to_host_s": time.perf_counter() - t0, "index_bytes": index_bytes(host)}

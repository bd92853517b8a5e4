"""IVF with product-quantised codes (faiss IndexIVFPQ), optionally re-ranked exactly.

PQ codes alone cap recall (near 0.6 at k=10 on CLIP-like data): the code
distances cannot separate the near-ties of a cross-modal top-k. ``k_factor`` > 0
keeps the raw vectors beside the codes (IndexRefineFlat) and re-ranks the best
``k * k_factor`` PQ candidates exactly. It is a build parameter because it
decides what is stored: the index grows by ``4 * d`` bytes per vector.

ndis per query: nlist centroid distances (the flat coarse quantizer, counted here)
+ the PQ codes of the probed lists (faiss's ``indexIVF_stats.ndis``), one table-lookup
distance each (building the lookup tables is not counted) + the exact re-rank
distances, k * k_factor (counted here). Where the probed lists may hold fewer codes than
k * k_factor, faiss re-ranks fewer and the count is unknown: stats() then leaves ``ndis``
out (see ``CandidateFloor``).

On ``gpu`` the empty IVF-PQ is moved to the GPU (faiss GpuIndexIVFPQ, cuVS where faiss has it) and
trained and filled there; ndis is then unknown, and k_factor > 0 is refused (its exact re-rank runs on
the CPU: not a GPU index). stats() holds the copy times of ``gpu_common.built_facts``. Past one GPU,
replicated or sharded (``gpu_common.to_gpus``): every GPU trains its member on the same rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends import gpu_common
from annbench.backends.faiss_common import (FAISS_FILTERING, CandidateFloor, Selector, ivf_scanned,
                                            metric_type, set_threads)
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.backends.faiss_ivf import check_ivf, check_training
from annbench.errors import Unsupported, UserError

MAX_NBITS = 16  # faiss's PQ tables hold 2**nbits entries per sub-quantizer


class IVFPQ:
    name: ClassVar[str] = "ivf_pq"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    device_arrays: ClassVar[tuple[str, ...]] = ("gpu",)  # search() also takes CUDA tensors there (base.py)
    build_params: ClassVar[dict[str, Any]] = {"nlist": 1024, "m": 64, "nbits": 8, "k_factor": 0}
    search_params: ClassVar[dict[str, Any]] = {"nprobe": 1}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = True  # train() fits on a sample of the base
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = FAISS_FILTERING  # how a search keeps to a filter's rows (base.py)
    gpu_modes: ClassVar[tuple[str, ...]] = gpu_common.GPU_MODES  # past one GPU (--gpus N, base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, gpus: int = 1, gpu_mode: str | None = None,
                 **build: Any) -> None:
        cls = type(self)
        check_device(cls, device)
        params, _ = with_defaults(cls, build, {})
        self.nlist, m, self.nbits, self.k_factor = _check_build(cls, params)
        _check_dimension(d, m)
        set_threads(threads)
        self.quantizer = faiss.IndexFlat(d, metric_type(metric))
        self.ivf = faiss.IndexIVFPQ(self.quantizer, d, self.nlist, m, self.nbits, metric_type(metric))
        self.on_gpu = device == "gpu"
        self.spread = (gpus, gpu_mode)
        if self.on_gpu:
            _require_gpu_setting(self.k_factor, gpus, gpu_mode)
            self.ivf = gpu_common.to_gpus(self.ivf, gpus, gpu_mode)  # untrained: k-means and PQ train on the GPU(s)
        gpu_common.set_nprobe(self.ivf, self.search_params["nprobe"])
        self.index = self.ivf
        if self.k_factor:
            # The wrapper asks the IVF-PQ for k * k_factor candidates, then scores them on the raw vectors.
            self.index = faiss.IndexRefineFlat(self.ivf)
            self.index.k_factor = float(self.k_factor)
        self._counted = 0  # what faiss's IVF counter leaves out: centroid and re-rank distances
        self._floor: CandidateFloor | None = None  # after add: the fewest candidates a query gets
        self._uncounted = False  # a search at the current settings re-ranked an unknown number
        self._facts: dict | None = None
        self._selector = Selector()

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        _check_dimension(d, _check_build(cls, build)[1])
        check_ivf(cls, build, search, nb)
        if 2 ** build["nbits"] > nb:
            raise UserError(f"ivf_pq: nbits={build['nbits']} needs at least {2 ** build['nbits']} base vectors, got {nb}")

    def train(self, xt: np.ndarray) -> None:
        check_training(type(self), len(xt), max(self.nlist, 2 ** self.nbits))
        self.index.train(xt)
        self._facts = None

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._floor = CandidateFloor(self.ivf) if self.k_factor else None
        self._facts = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        check_ivf(type(self), {"nlist": self.nlist}, search, nb=self.nlist)
        if self.on_gpu:
            gpu_common.check_nprobe(self.name, search["nprobe"])
        gpu_common.set_nprobe(self.ivf, search["nprobe"])
        self._uncounted = False

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.on_gpu:
            return gpu_common.search(self.index, xq, k)
        self._counted += len(xq) * self.nlist
        if self.k_factor:
            depth = k * self.k_factor
            # under a filter the probed lists may pass fewer than depth candidates: the count is unknown
            if self._floor is not None and depth <= self._floor.now() and self._selector.sel is None:
                self._counted += len(xq) * depth
            else:
                self._uncounted = True
        return self.index.search(xq, k, params=self._filtered_params())

    def set_filter(self, flt) -> None:
        self._selector.set(flt)

    def _filtered_params(self):
        """The selector goes to the IVF-PQ; a refine re-scores only the candidates it passed."""
        ivf = self._selector.params(faiss.SearchParametersIVF, nprobe=self.ivf.nprobe)
        if ivf is None or not self.k_factor:
            return ivf
        self._refine_params = faiss.IndexRefineSearchParameters(k_factor=float(self.k_factor), base_index_params=ivf)
        return self._refine_params

    def stats(self) -> dict:
        if self._facts is None:
            self._facts = gpu_common.index_facts(self.index, self.on_gpu, *self.spread)
        if self.on_gpu or self._uncounted:
            return dict(self._facts)
        return {**self._facts, "ndis": ivf_scanned() + self._counted}


def _require_gpu_setting(k_factor: int, gpus: int, gpu_mode: str | None) -> None:
    gpu_common.require_gpu(IVFPQ, gpus, gpu_mode)
    if k_factor:
        raise Unsupported(f"ivf_pq on gpu: k_factor={k_factor} re-ranks on the CPU (not a GPU index); use k_factor 0")


def _check_dimension(d: int, m: int) -> None:
    if d % m:
        raise UserError(f"ivf_pq: the dimension {d} is not a multiple of m={m}")


def _check_build(cls: type, build: dict) -> tuple[int, int, int, int]:
    nbits = require_int(cls, "nbits", build["nbits"])
    if nbits > MAX_NBITS:
        raise UserError(f"ivf_pq: nbits must be <= {MAX_NBITS}, got {nbits}")
    return (require_int(cls, "nlist", build["nlist"]), require_int(cls, "m", build["m"]), nbits,
            require_int(cls, "k_factor", build["k_factor"], low=0))

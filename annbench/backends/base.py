"""The one interface every backend implements (no optional methods).

The runner, not the backend, owns timing, batching into nq-sized chunks,
warm-up and GPU sync. A backend converts its library's conventions to
``(D, I)``: best first, ``I`` int64 padded with -1. Angular data arrives
unit-norm: a backend searches it by inner product and never normalises.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np


class Index(Protocol):
    name: ClassVar[str]                      # registry key, e.g. "ivf_flat"
    metrics: ClassVar[tuple[str, ...]]       # e.g. ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]]       # e.g. ("cpu",) or ("cpu", "gpu")
    build_params: ClassVar[dict[str, Any]]   # rebuilt per value, with defaults: {"nlist": 1024}
    search_params: ClassVar[dict[str, Any]]  # set on a built index, with defaults: {"nprobe": 1}
    libraries: ClassVar[tuple[str, ...]]     # import names that build and search: ("faiss",); versioned in results
    adds_in_chunks: ClassVar[bool]           # add() may be called chunk by chunk (False: the whole base, once)
    trains: ClassVar[bool]                   # train() needs vectors (False: it gets an empty array)
    # --clients C: "processes" (C processes forked from the worker after the build, each searching the
    # shared index single-threaded: a library searched in-process, whatever it does with the GIL) or
    # "threads" (C threads of the worker: a database's client, whose server does the searching)
    concurrency: ClassVar[str]
    # Optional, default (): the devices on which search() also takes the queries as a torch CUDA tensor
    # and returns (D, I) on the device; the runner then also times that (device-only time, runner/gpu_timing.py)
    device_arrays: ClassVar[tuple[str, ...]]
    # Optional, default (): the ways its GPU variant spreads over N > 1 GPUs ("replicate", "shard"; --gpus N
    # --gpu-mode M, backends/gpu_common.py). Where it names one, __init__ also takes gpus=N, gpu_mode=M
    # (only ever given for N > 1); elsewhere a point asking for more than one GPU is skipped, never built
    gpu_modes: ClassVar[tuple[str, ...]]
    # how the library keeps a search to the rows a filter passes ("faiss IDSelectorBitmap via
    # SearchParameters", "hnswlib filter function", "Milvus boolean expression"); records carry it.
    # Such a backend implements set_filter(flt). "": the library cannot; the runner post-filters
    # (searches deeper, drops the rows the filter refuses: annbench.runner.filtered)
    filtering: ClassVar[str]
    # Optional, default 0: bumped when a change to the backend alters what its points measure (how it
    # runs a batch, say); in the point's key from 1 on, so a point stored by the old code is measured
    # again, never resumed. Its docstring says what each revision changed
    revision: ClassVar[int]

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None: ...

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        """Raise :class:`annbench.errors.UserError` for impossible settings on a base of ``nb``
        vectors of dimension ``d`` (bits for binary codes): nprobe > nlist, m not dividing d."""

    def train(self, xt: np.ndarray) -> None: ...   # a no-op where the index needs no training
    def add(self, xb: np.ndarray) -> None: ...     # called once per chunk of the base, in order
    def set_search_params(self, **params: Any) -> None: ...
    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    # Only where ``filtering`` is not "": searches from now on return only rows ``flt.mask`` passes
    # (an annbench.data.filters.RowFilter; None: every row). The runner calls it with every filter of
    # the build point before add(), so a backend that stores attributes (Milvus) inserts their columns.
    # def set_filter(self, flt) -> None: ...

    def stats(self) -> dict:
        """``index_bytes``, and ``ndis``: every distance the searches so far computed, cumulative
        (the runner takes differences), in a unit each backend's docstring states; absent, never
        0, where the library keeps no count. Keys ending in ``_s`` are phases of the build the
        backend timed apart (milvus: insert_s, index_build_s, load_s); records carry them."""

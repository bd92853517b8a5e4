"""USearch's HNSW graph over 1-bit vectors (dtype "b1"), by Tanimoto or Hamming distance.

USearch is the one library here with a graph index for Tanimoto on bit
vectors (faiss's binary HNSW knows only Hamming); the Hamming variant makes a
like-for-like comparison with ``bin_hnsw``. USearch returns fewer than k
matches when the graph reaches fewer: ``counts`` says how many, the rest is -1.

ndis: USearch's own count of the distances each search computed (``computed_distances``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from annbench.backends.binary_common import check_binary, check_search
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.backends.usearch_common import matches_result
from annbench.data.bits import require_codes


class _USearchBits:
    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"connectivity": 16, "expansion_add": 128}
    search_params: ClassVar[dict[str, Any]] = {"expansion_search": 64}
    libraries: ClassVar[tuple[str, ...]] = ("usearch",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)
    library_metric: ClassVar[str]

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        from usearch.index import Index

        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        params, search = with_defaults(type(self), build, {})
        self.check_params(params, search, nb=1, d=d)
        self.threads = threads
        self.index = Index(ndim=d, metric=self.library_metric, dtype="b1", **params,
                           expansion_search=search["expansion_search"])
        self._ndis = 0

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, _ = with_defaults(cls, build, {})
        for key, value in build.items():
            require_int(cls, key, value)
        check_search(cls, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        xb = require_codes(xb, self.name, self.nbytes)
        start = len(self.index)
        self.index.add(np.arange(start, start + len(xb), dtype=np.uint64), xb, threads=self.threads)

    def set_search_params(self, **params: Any) -> None:
        self.index.expansion_search = check_search(type(self), params)["expansion_search"]

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D, I, ndis = matches_result(self.index.search(require_codes(xq, self.name, self.nbytes), k,
                                                      threads=self.threads), k)
        self._ndis += ndis
        return D, I

    def stats(self) -> dict:
        return {"index_bytes": int(self.index.serialized_length), "ndis": self._ndis}


class USearchTanimoto(_USearchBits):
    name: ClassVar[str] = "usearch_tanimoto"
    metrics: ClassVar[tuple[str, ...]] = ("jaccard",)
    library_metric: ClassVar[str] = "tanimoto"


class USearchHamming(_USearchBits):
    name: ClassVar[str] = "usearch_hamming"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    library_metric: ClassVar[str] = "hamming"

"""Inverted lists over binary codes (faiss IndexBinaryIVF): Hamming k-means cells, scan ``nprobe``.

ndis per query: nlist Hamming distances to the centroids (the flat binary quantizer,
counted here) + the codes of the probed lists (faiss's ``indexIVF_stats.ndis``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.binary_common import as_result, check_binary, check_search
from annbench.backends.faiss_common import index_bytes, ivf_scanned, set_threads
from annbench.backends.params import check_device, with_defaults
from annbench.backends.faiss_ivf import check_ivf, check_training
from annbench.data.bits import require_codes


class BinIVF:
    name: ClassVar[str] = "bin_ivf"
    metrics: ClassVar[tuple[str, ...]] = ("hamming",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"nlist": 1024}
    search_params: ClassVar[dict[str, Any]] = {"nprobe": 1}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = True  # train() fits on a sample of the base
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        params, _ = with_defaults(type(self), build, {})
        set_threads(threads)
        self.nlist = params["nlist"]
        self.quantizer = faiss.IndexBinaryFlat(d)
        self.index = faiss.IndexBinaryIVF(self.quantizer, d, self.nlist)
        self._coarse = 0  # centroid distances: faiss's flat quantizer counts none
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, _ = with_defaults(cls, build, {})
        check_ivf(cls, build, check_search(cls, search), nb)

    def train(self, xt: np.ndarray) -> None:
        check_training(type(self), len(xt), self.nlist)
        self.index.train(require_codes(xt, self.name, self.nbytes))
        self._bytes = None

    def add(self, xb: np.ndarray) -> None:
        self.index.add(require_codes(xb, self.name, self.nbytes))
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        search = check_search(type(self), params)
        check_ivf(type(self), {"nlist": self.nlist}, search, nb=self.nlist)
        self.index.nprobe = search["nprobe"]

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._coarse += len(xq) * self.nlist
        return as_result(*self.index.search(require_codes(xq, self.name, self.nbytes), k))

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes, "ndis": ivf_scanned() + self._coarse}

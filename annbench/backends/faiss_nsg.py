"""faiss's NSG graph (IndexNSGFlat), the RNSG that several vector databases ship.

NSG is built in two steps: a k-nearest-neighbour graph of the base (degree GK),
then a pruned navigable graph of out-degree at most R grown from it.

No ndis: faiss's NSG search keeps no distance counter, so stats() has none.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.faiss_common import index_bytes, metric_type, search_capped, set_threads
from annbench.backends.params import check_device, require_int, with_defaults
from annbench.errors import UserError

# How the kNN graph is made. faiss's default is NN-descent, but measured on 2 cores
# at d=512 an exact brute-force graph is both faster and better up to about 50,000
# vectors. clip-synth n=20,000: whole build 37 s (exact) vs 72 s (NN-descent), and
# recall@10 at search_L=64 0.84 vs 0.81. At n=50,000 the kNN step alone takes 71 s
# vs 62 s, and NN-descent's graph holds only 90% of the true 10-NN. Brute force
# costs n^2 d, so larger bases switch to NN-descent (about n^1.1).
EXACT_GRAPH_MAX_NB = 50_000
GRAPH_DEGREE = 64  # GK, faiss's default; NSG then keeps at most R of these links
MIN_NB = 10        # faiss 1.15 rejects any kNN graph of fewer than 10 vectors as invalid


class NSG:
    name: ClassVar[str] = "nsg"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"R": 32}
    search_params: ClassVar[dict[str, Any]] = {"search_L": 64}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = False  # faiss's NSG builds its whole graph in one call
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        cls = type(self)
        check_device(cls, device)
        params, _ = with_defaults(cls, build, {})
        set_threads(threads)
        self.index = faiss.IndexNSGFlat(d, require_int(cls, "R", params["R"]), metric_type(metric))
        self._search_L = self.search_params["search_L"]
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        require_int(cls, "R", build["R"])
        _check_base(nb)
        _check_search_L(search["search_L"], nb)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        """The whole graph is built here, in one call: faiss's NSG cannot grow afterwards."""
        nb = _check_base(len(xb))
        self.index.build_type = 0 if nb <= EXACT_GRAPH_MAX_NB else 1
        # A base smaller than these pools would hang faiss (see _check_search_L).
        self.index.GK = min(GRAPH_DEGREE, nb - 1)
        self.index.nsg.L = min(self.index.nsg.L, nb)  # the build-time pool, R + 32 by default
        self.index.add(xb)
        self.index.nsg.search_L = min(self._search_L, nb)
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        self._search_L = search["search_L"]
        if self.index.ntotal:
            self.index.nsg.search_L = _check_search_L(self._search_L, self.index.ntotal)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search_capped(self.index, xq, k)

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        return {"index_bytes": self._bytes}  # faiss keeps no distance counter for NSG


def _check_base(nb: int) -> int:
    if nb < MIN_NB:
        raise UserError(f"nsg needs at least {MIN_NB} base vectors, got {nb}")
    return nb


def _check_search_L(search_L: Any, nb: int) -> int:
    # faiss's NSG seeds its pool with distinct random ids and hangs if the pool exceeds the base.
    search_L = require_int(NSG, "search_L", search_L)
    if search_L > nb:
        raise UserError(f"nsg: search_L={search_L} exceeds the base size {nb}")
    return search_L

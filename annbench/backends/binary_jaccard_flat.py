"""Exact Jaccard (Tanimoto) search by popcount over the packed codes: the Jaccard reference.

faiss's binary indexes know only Hamming, so this one is numpy: ``|q & b|``
by 64-bit popcount, ``|q| + |b| - |q & b|`` for the union.

ndis: nb distances per query (one intersection popcount per base code), counted here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from annbench.backends.binary_common import check_binary, check_search
from annbench.backends.binary_scan import Filter, scan
from annbench.backends.params import check_device, with_defaults
from annbench.data.bits import popcount, require_codes


class BinJaccardFlat:
    name: ClassVar[str] = "bin_jaccard_flat"
    metrics: ClassVar[tuple[str, ...]] = ("jaccard",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {}
    search_params: ClassVar[dict[str, Any]] = {}
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)
    adds_in_chunks: ClassVar[bool] = False  # a numpy array grown by each add: whole, as the codes are small
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)
    keep: ClassVar[Filter | None] = None   # the filters of binary_substructure set one

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        self.nbytes = check_binary(type(self), d, metric)
        with_defaults(type(self), build, {})
        self.metric = metric
        self.xb = np.zeros((0, self.nbytes), dtype=np.uint8)
        self.xb_bits = np.zeros(0, dtype=np.int64)
        self._ndis = 0

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        with_defaults(cls, build, {})
        check_search(cls, search)

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        xb = require_codes(xb, self.name, self.nbytes)
        self.xb = np.vstack([self.xb, xb])
        self.xb_bits = np.concatenate([self.xb_bits, popcount(xb)])

    def set_search_params(self, **params: Any) -> None:
        check_search(type(self), params)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        xq = require_codes(xq, self.name, self.nbytes)
        self._ndis += len(xq) * len(self.xb)
        return scan(self.xb, self.xb_bits, xq, k, self.metric, type(self).keep)

    def stats(self) -> dict:
        return {"index_bytes": int(self.xb.nbytes + self.xb_bits.nbytes), "ndis": self._ndis}

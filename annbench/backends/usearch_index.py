"""USearch's HNSW graph over float vectors, stored as f32, f16 or i8.

Build parameters: ``connectivity`` (16, HNSW's M), ``expansion_add`` (128, ef_construction) and
``dtype`` (``f32``): how USearch stores the vectors and computes distances. ``f16`` halves them;
``i8`` keeps one byte per dimension, but USearch scales each vector to unit norm before it rounds
(x / |x| * 127), so it keeps directions only: angular data alone. Search parameter:
``expansion_search`` (64, ef). Metric: ``ip`` on unit vectors (angular; D = 1 - <q, x> in f32 and
f16, -<q, x> in USearch's i8 units), ``l2sq`` for euclidean; best first, ascending. USearch returns
fewer than k matches when its graph reaches fewer: the rest is -1.

index_bytes: USearch's ``serialized_length`` (graph and vectors, as it would save them).
ndis: USearch's own count of the distances each search computed (``computed_distances``).
Threads: ``threads`` goes to every add and search call (USearch splits a batch over them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from usearch.index import Index

from annbench.backends.params import check_setup, require_int, with_defaults
from annbench.backends.usearch_common import matches_result
from annbench.errors import UserError

_METRICS = {"angular": "ip", "euclidean": "l2sq"}
_DTYPES = ("f32", "f16", "i8")


class USearch:
    name: ClassVar[str] = "usearch"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"connectivity": 16, "expansion_add": 128, "dtype": "f32"}
    search_params: ClassVar[dict[str, Any]] = {"expansion_search": 64}
    libraries: ClassVar[tuple[str, ...]] = ("usearch",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_setup(type(self), device, metric, threads)
        params, search = with_defaults(type(self), build, {})
        self.check_params(params, search, nb=1, d=d)
        if params["dtype"] == "i8" and metric != "angular":
            raise UserError("usearch: dtype i8 scales every vector to unit norm, so it serves angular data only")
        self.threads = threads
        self.index = Index(ndim=d, metric=_METRICS[metric], **params, expansion_search=search["expansion_search"])
        self._ndis = 0

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        for key in ("connectivity", "expansion_add", "expansion_search"):
            require_int(cls, key, {**build, **search}[key])
        if build["dtype"] not in _DTYPES:
            hint = " (on the command line, string values are separated by ';')" if "," in str(build["dtype"]) else ""
            raise UserError(f"usearch: dtype must be one of {', '.join(_DTYPES)}, got {build['dtype']!r}{hint}")

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        start = len(self.index)
        self.index.add(np.arange(start, start + len(xb), dtype=np.uint64), xb, threads=self.threads)

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        self.index.expansion_search = require_int(type(self), "expansion_search", search["expansion_search"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D, I, ndis = matches_result(self.index.search(xq, k, threads=self.threads), k)
        self._ndis += ndis
        return D, I

    def stats(self) -> dict:
        return {"index_bytes": int(self.index.serialized_length), "ndis": self._ndis}

"""Milvus through pymilvus: Milvus Lite by default (an embedded database, nothing to start), a Milvus
server or cluster with ``uri`` ("http://HOST:19530"), the same code for both.

``index_type`` chooses the index: FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ, HNSW with their Milvus parameters
(nlist | nprobe; nlist, m, nbits | nprobe; M, efConstruction | ef; see milvus_params.py), or any
other type the server offers, by name. What the engine refuses (Milvus Lite builds no IVF_PQ) is a
:class:`~annbench.errors.Unsupported` error carrying the engine's own reason, never a substitute.

The whole base arrives in one add(): inserted and flushed, then the index is built, then the
collection loaded; stats() gives the three times apart (``insert_s``, ``index_build_s``,
``load_s``). Searches ask for ids only. Distances are the engine's (IP: the inner product, best
first, descending; L2: Lite gives the distance, a server its square). No ``ndis``: Milvus keeps no
distance counter. Threads: Milvus Lite runs its faiss indexes in this process with ``threads``
OpenMP threads; a server runs with its own thread pools, which no client sets.

Filtered search: each filter's attribute is an INT64 field inserted with the rows (set_filter()
before add()), and searches carry the filter as a boolean expression (``annbench_tag < 1000``).
"""

from __future__ import annotations

import time
import weakref
from typing import Any, ClassVar

import numpy as np
from pymilvus.exceptions import MilvusException

from annbench.backends import milvus_params as mp
from annbench.backends.milvus_target import Target, check_uri, collection_name, engine_message
from annbench.backends.params import check_device, with_defaults
from annbench.errors import Unsupported, UserError

MAX_NQ = 16384  # a Milvus server's largest nq per request
_FLT_MAX = float(np.finfo(np.float32).max)


class Milvus:
    name: ClassVar[str] = "milvus"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)  # where annbench runs; a GPU server's GPU_* types are index types
    build_params: ClassVar[dict[str, Any]] = {"index_type": "HNSW", "uri": "", "nlist": None, "m": None,
                                              "nbits": None, "M": None, "efConstruction": None, "index_extra": ""}
    search_params: ClassVar[dict[str, Any]] = {"nprobe": None, "ef": None, "search_extra": ""}
    libraries: ClassVar[tuple[str, ...]] = ("pymilvus", "milvus_lite", "faiss")  # faiss: Milvus Lite's engine
    adds_in_chunks: ClassVar[bool] = False  # one add(): insert everything, then build the index, then load
    trains: ClassVar[bool] = False          # the engine trains IVF on the inserted rows itself
    concurrency: ClassVar[str] = "threads"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = "Milvus boolean expression"  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        if metric not in mp.METRICS:
            raise UserError(f"milvus: unknown metric {metric!r} (use angular or euclidean)")
        if threads < 1:
            raise UserError(f"threads must be >= 1, got {threads}")
        params, search = with_defaults(type(self), build, {})
        self.check_params(params, search, nb=2**62, d=d)
        self._build, self._metric, self._d = params, mp.METRICS[metric], d
        self._target = Target(params["uri"], collection_name(params, metric, d))
        self._closer = weakref.finalize(self, self._target.close)  # the collection goes with the index
        if self._target.lite:
            from annbench.backends.faiss_common import set_threads

            set_threads(threads)  # Lite searches with faiss, in this process
        self._call("collection creation", self._target.create, d)
        self._search = mp.search_params(search)
        self._times: dict[str, float] = {}
        self._bytes: int | None = None
        self._columns: dict[str, np.ndarray] = {}  # attribute columns inserted with the rows
        self._filter = ""  # the boolean expression searches carry ("" = every row)

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        mp.check(build, search, nb, d)
        check_uri(build["uri"])

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        if self._times:
            raise UserError("milvus: add() takes the whole base once (adds_in_chunks is False)")
        t0 = time.perf_counter()
        self._call("insert", self._target.insert, xb, self._columns)
        t1 = time.perf_counter()
        self._call("index build", self._target.build_index, self._build["index_type"], self._metric,
                   mp.index_params(self._build))
        t2 = time.perf_counter()
        self._call("load", self._target.load)
        t3 = time.perf_counter()
        self._times = {"insert_s": t1 - t0, "index_build_s": t2 - t1, "load_s": t3 - t2}
        self._bytes = self._target.index_bytes()

    def set_search_params(self, **params: Any) -> None:
        build, search = with_defaults(type(self), self._build, params)
        mp.check(build, search, nb=2**62, d=self._d)
        self._search = mp.search_params(search)

    def set_filter(self, flt) -> None:
        """Before add(): the filter's attribute becomes an INT64 field, inserted with the rows (the empty
        collection is made again with it). After add(): searches carry the filter as an expression."""
        if flt is not None and flt.attribute not in self._columns:
            if self._times:
                raise UserError(f"milvus: attribute {flt.attribute!r} was not inserted with the rows "
                                "(set_filter() with it before add())")
            self._columns[flt.attribute] = flt.values
            self._call("collection creation", self._target.create, self._d, tuple(self._columns))
        self._filter = "" if flt is None else flt.expression

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        D = np.full((len(xq), k), -_FLT_MAX if self._metric == "IP" else _FLT_MAX, dtype=np.float32)
        I = np.full((len(xq), k), -1, dtype=np.int64)
        for start in range(0, len(xq), MAX_NQ):
            hits = self._call("search", self._target.client.search, self._target.name, data=xq[start:start + MAX_NQ],
                              limit=k, output_fields=self._target.output_fields, filter=self._filter,
                              search_params={"metric_type": self._metric, "params": self._search})
            for row, found in enumerate(hits, start):
                n = len(found.ids)
                I[row, :n], D[row, :n] = found.ids, found.distances
        return D, I

    def stats(self) -> dict:
        out: dict = dict(self._times)
        if self._bytes is not None:
            out["index_bytes"] = self._bytes
        return out

    def _call(self, what: str, fn, *args, **kwargs):
        """The engine's refusal as one line: Unsupported where Milvus Lite lacks what a server has."""
        try:
            return fn(*args, **kwargs)
        except MilvusException as exc:
            where = "Milvus Lite" if self._target.lite else self._build["uri"]
            message = f"milvus: {where} refused the {what} ({self._build['index_type']}): {engine_message(exc)}"
            if self._target.lite and what == "index build":
                raise Unsupported(message) from None
            raise UserError(message) from None

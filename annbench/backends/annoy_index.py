"""Annoy's forest of random-projection trees.

annoy searches one query per call and releases the GIL while it does, so a batch
runs on ``threads`` threads, as faiss runs its queries: the calling thread and a
pool of threads - 1, one contiguous share of the batch each (one query, or
``threads`` 1: the calling thread alone).

Revisions (the point key's ``revision``): 1, a batch on ``threads`` threads (0
searched every batch on the calling thread alone, one core whatever ``threads``).

No ndis: annoy keeps no distance counter, so stats() has none.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
from annoy import AnnoyIndex

from annbench.backends.params import check_device, require_int, with_defaults
from annbench.errors import UserError

_METRICS = {"angular": "dot", "euclidean": "euclidean"}  # unit-norm data: dot ranks as cosine
_FLT_MAX = float(np.finfo(np.float32).max)               # the padding distance faiss uses
SEED = 1


class Annoy:
    name: ClassVar[str] = "annoy"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"n_trees": 100}
    search_params: ClassVar[dict[str, Any]] = {"search_k": -1}  # -1: annoy's default, n_trees * k
    libraries: ClassVar[tuple[str, ...]] = ("annoy",)
    adds_in_chunks: ClassVar[bool] = False  # annoy adds its items and builds the forest in one call
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)
    revision: ClassVar[int] = 1  # see the module docstring

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        if metric not in _METRICS:
            raise UserError(f"annoy: unknown metric {metric!r} (use angular or euclidean)")
        if threads < 1:
            raise UserError(f"threads must be >= 1, got {threads}")
        params, _ = with_defaults(type(self), build, {})
        self.check_params(params, {}, nb=1, d=d)
        self.n_trees = params["n_trees"]
        self.threads = threads  # the build's n_jobs, and the threads a batch is searched on
        self._pool: tuple[int, ThreadPoolExecutor] | None = None  # (the pid it was started in, the pool)
        self.index = AnnoyIndex(d, _METRICS[metric])
        self.index.set_seed(SEED)
        self._worst = -_FLT_MAX if metric == "angular" else _FLT_MAX
        self._search_k = self.search_params["search_k"]
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        require_int(cls, "n_trees", build["n_trees"])
        _check_search_k(search["search_k"])

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        """Adds and builds in one go: annoy cannot add items to a built forest."""
        for i, row in enumerate(xb):
            self.index.add_item(i, row.tolist())
        self.index.build(self.n_trees, n_jobs=self.threads)

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        self._search_k = _check_search_k(search["search_k"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # One tolist() for the batch is cheaper than annoy reading numpy rows element by element.
        get, search_k, rows = self.index.get_nns_by_vector, self._search_k, xq.tolist()
        parts = min(self.threads, len(rows))
        if parts <= 1:
            found = [get(v, k, search_k, True) for v in rows]
        else:
            bounds = [len(rows) * i // parts for i in range(parts + 1)]
            share = [rows[a:b] for a, b in zip(bounds, bounds[1:])]
            later = [self._threads().submit(lambda s: [get(v, k, search_k, True) for v in s], s) for s in share[1:]]
            found = [get(v, k, search_k, True) for v in share[0]]
            for f in later:
                found += f.result()
        ids, dists = zip(*found) if found else ((), ())
        if all(len(row) == k for row in ids):
            return np.array(dists, dtype=np.float32).reshape(-1, k), np.array(ids, dtype=np.int64).reshape(-1, k)
        D = np.full((len(found), k), self._worst, dtype=np.float32)
        I = np.full((len(found), k), -1, dtype=np.int64)
        for r, (row_ids, row_dists) in enumerate(found):
            I[r, :len(row_ids)], D[r, :len(row_ids)] = row_ids, row_dists
        return D, I

    def _threads(self) -> ThreadPoolExecutor:
        """The pool of threads - 1, started on first use in this process (a client forked from the
        worker after a search would otherwise inherit a pool whose threads it does not have)."""
        if self._pool is None or self._pool[0] != os.getpid():
            self._pool = (os.getpid(), ThreadPoolExecutor(self.threads - 1, thread_name_prefix="annoy"))
        return self._pool[1]

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = _saved_size(self.index)
        return {"index_bytes": self._bytes}  # annoy keeps no distance counter


def _check_search_k(search_k: object) -> int:
    search_k = require_int(Annoy, "search_k", search_k, low=-1)
    if search_k == 0:
        raise UserError("annoy: search_k must be -1 (annoy's default) or >= 1, got 0")
    return search_k


def _saved_size(index: AnnoyIndex) -> int:
    """Bytes of the saved forest: a measurement, as annoy's node layout is not exposed.

    Annoy's save() unloads the index and maps the file back in; on Linux the map
    outlives the deleted file, so the index keeps working, now page-cache backed.
    """
    with tempfile.TemporaryDirectory(prefix="annbench-annoy-") as tmp:
        path = os.path.join(tmp, "index.ann")
        index.save(path)
        return os.path.getsize(path)

"""hnswlib's HNSW graph: the reference HNSW implementation, compared with faiss's.

No ndis: hnswlib's Python binding exposes no distance counter, so stats() has none.
"""

from __future__ import annotations

from typing import Any, ClassVar

import hnswlib
import numpy as np

from annbench.backends.params import check_device, require_int, require_ints, with_defaults
from annbench.errors import UserError

_SPACES = {"angular": "ip", "euclidean": "l2"}  # "ip" distance is 1 - <q, x>: best first, ascending
_FLT_MAX = float(np.finfo(np.float32).max)       # the padding distance faiss uses
SEED = 100


class HnswLib:
    name: ClassVar[str] = "hnswlib"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"M": 32, "ef_construction": 200}
    search_params: ClassVar[dict[str, Any]] = {"ef": 64}
    libraries: ClassVar[tuple[str, ...]] = ("hnswlib",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = False  # no training: train() gets no rows
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = "hnswlib filter function"  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        if metric not in _SPACES:
            raise UserError(f"hnswlib: unknown metric {metric!r} (use angular or euclidean)")
        if threads < 1:
            raise UserError(f"threads must be >= 1, got {threads}")
        params, _ = with_defaults(type(self), build, {})
        self.check_params(params, {}, nb=1, d=d)
        self.M, self.ef_construction = params["M"], params["ef_construction"]
        self.index = hnswlib.Index(space=_SPACES[metric], dim=d)
        self.index.set_num_threads(threads)  # used by add_items and knn_query alike
        self._ef = self.search_params["ef"]
        self._count = 0
        self._allowed = None  # the current filter: label -> bool, or None for every row

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        require_ints(cls, *with_defaults(cls, build, search))

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        if self._count == 0:
            self.index.init_index(max_elements=len(xb), ef_construction=self.ef_construction,
                                  M=self.M, random_seed=SEED)
        else:
            self.index.resize_index(self._count + len(xb))
        self.index.add_items(xb, np.arange(self._count, self._count + len(xb)))
        self._count += len(xb)
        self.index.set_ef(self._ef)

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        # hnswlib searches with max(ef, k), as faiss does: an ef below k behaves as ef = k.
        self._ef = require_int(type(self), "ef", search["ef"])
        if self._count:
            self.index.set_ef(self._ef)

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        depth = min(k, self._count)  # hnswlib refuses k > the element count outright
        try:
            labels, dist = self.index.knn_query(xq, k=depth, filter=self._allowed)
        except RuntimeError:
            raise UserError(f"hnswlib found fewer than k={depth} neighbours for a query:"
                            f" raise ef (now {self._ef}) or M (now {self.M})") from None
        I = labels.astype(np.int64)
        if depth == k:
            return dist, I
        D_out = np.full((len(xq), k), _FLT_MAX, dtype=np.float32)
        I_out = np.full((len(xq), k), -1, dtype=np.int64)
        D_out[:, :depth], I_out[:, :depth] = dist, I
        return D_out, I_out

    def set_filter(self, flt) -> None:
        """hnswlib asks a Python callable of each label it meets; a list's own lookup is the cheapest one."""
        self._allowed = None if flt is None else flt.mask.tolist().__getitem__

    def stats(self) -> dict:
        # The size hnswlib would write on save; it keeps no distance counter in Python.
        return {"index_bytes": int(self.index.index_file_size()) if self._count else 0}

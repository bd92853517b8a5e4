"""Exact k-NN over the rows a filter passes: the truth a filtered search is judged against.

The allowed rows are handed to :func:`annbench.groundtruth.exact.exact_knn` as a view
(:class:`Rows`) that reads them block by block from the base, in memory or on disk,
so the base streams through the same block search, float64 re-score and tie rules
as the unfiltered truth, and memory stays bounded. Ids come back as base ids. Where
fewer than ``k`` rows pass, the rest of each row is padded: id -1, distance +inf.
"""

from __future__ import annotations

import numpy as np

from annbench.groundtruth.exact import DEFAULT_K, exact_knn


class Rows:
    """The rows ``ids`` of ``xb`` as an array-like of their own (row slicing and id arrays)."""

    def __init__(self, xb, ids: np.ndarray) -> None:
        self.xb, self.ids = xb, np.asarray(ids, dtype=np.int64)
        self.shape = (int(self.ids.size), *xb.shape[1:])
        self.dtype = xb.dtype

    def __getitem__(self, key):
        picked = self.ids[key]
        if isinstance(self.xb, np.ndarray):
            return self.xb[picked]
        flat = np.ravel(picked)  # a lazy reader reads one array of ids
        return np.asarray(self.xb[flat]).reshape(*np.shape(picked), *self.shape[1:])


def filtered_knn(xb, xq: np.ndarray, mask: np.ndarray, k: int = DEFAULT_K, metric: str = "angular",
                 block: int | None = None, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(D, I)`` of the ``k`` nearest rows of ``xb`` where ``mask`` is True, best first, base ids."""
    allowed = np.flatnonzero(mask)
    depth = min(k, allowed.size)
    D = np.full((xq.shape[0], k), np.inf, dtype=np.float32)
    I = np.full((xq.shape[0], k), -1, dtype=np.int64)
    if depth:
        Df, If = exact_knn(Rows(xb, allowed), xq, depth, metric, block=block, use_gpu=use_gpu)
        D[:, :depth], I[:, :depth] = Df, allowed[If]
    return D, I

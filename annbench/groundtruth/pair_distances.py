"""Exact distances of given (query, base id) pairs, in one streamed pass over the base.

Supplied ground truth brings ids; its distances follow the supplier's
convention (squared L2, inner products, ...). annbench stores its own: 1 - cos
(angular, unit-norm vectors) or L2, accumulated in float64 like
:mod:`annbench.groundtruth.exact`. The pairs are sorted by base id once, and
each base block scores the pairs that fall in it, so the base is read once
whatever the number of queries, and memory holds one block and a bounded
step of pairs.
"""

from __future__ import annotations

import numpy as np

PAIR_STEP = 16384  # pairs scored at a time: their float64 rows stay ~64 MiB at d = 512


def _score(x: np.ndarray, q: np.ndarray, ip: bool) -> np.ndarray:
    if ip:  # float32 products are exact in float64
        return 1.0 - np.einsum("pd,pd->p", x, q, dtype=np.float64)
    diff = x.astype(np.float64)
    diff -= q
    return np.sqrt(np.einsum("pd,pd->p", diff, diff))


def pair_distances(xb, xq: np.ndarray, I: np.ndarray, metric: str, block: int = 65536) -> np.ndarray:
    """``(nq, k)`` float64 distances of ``xq[i]`` to ``xb[I[i, j]]``; every id must lie in the base.

    ``xb``: anything with row slicing (an array, an h5py dataset, a RowReader).
    """
    ip = metric == "angular"
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    nq, k = I.shape
    flat = np.asarray(I, dtype=np.int64).ravel()
    order = np.argsort(flat, kind="stable")
    ids, query_of = flat[order], order // max(k, 1)
    out = np.empty(flat.size)
    for start in range(0, int(xb.shape[0]), block):
        lo, hi = np.searchsorted(ids, [start, start + block])
        if lo == hi:
            continue
        rows = np.asarray(xb[start:start + block], dtype=np.float32)
        for a in range(lo, hi, PAIR_STEP):
            b = min(hi, a + PAIR_STEP)
            out[order[a:b]] = _score(rows[ids[a:b] - start], xq[query_of[a:b]], ip)
    return out.reshape(nq, k)

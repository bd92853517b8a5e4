"""Exact scan of packed codes by popcount, in base blocks: the engine of the numpy binary backends.

It takes an optional filter on ``(|q & b|, |q|, |b|)`` so that the superstructure
and substructure searches reuse the same pass; what fails the filter, or lies
past the end of the base, comes back as -1. Ties go to the lower id, as in the
ground truth, so an exact scan reproduces it exactly.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from annbench.data.topk import keep_best
from annbench.data.bits import intersections, popcount, to_distance

BLOCK = 16384
Filter = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (inter, q_bits, b_bits) -> keep mask


def scan(xb: np.ndarray, xb_bits: np.ndarray, xq: np.ndarray, k: int, metric: str,
         keep: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(D, I)`` of the k nearest codes passing ``keep``; D float32, +inf with I = -1 where none."""
    q_bits = popcount(xq)
    D = np.full((len(xq), k), np.inf)
    I = np.full((len(xq), k), -1, dtype=np.int64)
    for start in range(0, xb.shape[0], BLOCK):
        inter = intersections(xq, xb[start:start + BLOCK])
        b_bits = xb_bits[start:start + BLOCK]
        dist = to_distance(inter, q_bits[:, None] + b_bits[None, :] - inter, metric)
        if keep is not None:
            dist[~keep(inter, q_bits[:, None], b_bits[None, :])] = np.inf
        ids = np.broadcast_to(np.arange(start, start + inter.shape[1]), dist.shape)
        D, I = keep_best(np.hstack([D, dist]), np.hstack([I, ids]), k)
    I = np.where(np.isinf(D), -1, I)
    return D.astype(np.float32), I

"""Top-k selection by (distance, id), shared by the binary ground truth and the binary scan backends.

Hamming distances are small integers, so ties at the k-th place are the rule:
both sides must keep the same tied items (the lowest ids) for an exact scan to
reproduce the truth exactly.
"""

from __future__ import annotations

import numpy as np


def keep_best(dist: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row by (distance, id); among equal distances, columns are in id order."""
    if dist.shape[1] <= k:
        order = np.argsort(dist, axis=1, kind="stable")
        return np.take_along_axis(dist, order, 1), np.take_along_axis(ids, order, 1)
    kth = np.partition(dist, k - 1, axis=1)[:, k - 1:k]
    better = dist < kth
    tied = dist == kth
    room = k - better.sum(axis=1, keepdims=True)
    keep = better | (tied & (np.cumsum(tied, axis=1) <= room))   # the lowest-id ties fill the room
    rows, cols = np.nonzero(keep)                                 # row-major: exactly k per row, id order
    d = dist[rows, cols].reshape(-1, k)
    i = ids[rows, cols].reshape(-1, k)
    order = np.argsort(d, axis=1, kind="stable")
    return np.take_along_axis(d, order, 1), np.take_along_axis(i, order, 1)

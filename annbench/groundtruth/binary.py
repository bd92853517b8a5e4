"""Exact top-K under Hamming or Jaccard distance, ties broken by id.

Hamming distances are small integers, so ties at the K-th place are the rule,
not the exception: the truth must say which tied items it keeps (the lowest
ids) for strict recall to be reproducible. Intersections come from a float32
product of unpacked bits (exact: counts stay far below 2**24), which is BLAS
fast and independent of the popcount and faiss code the backends use.
"""

from __future__ import annotations

import numpy as np

from annbench.data.bits import popcount, require_codes, to_distance
from annbench.data.topk import keep_best
from annbench.data.validate import check_depth

BASE_BLOCK = 8192
QUERY_CHUNK = 1024


def _unpack(codes: np.ndarray) -> np.ndarray:
    return np.unpackbits(codes, axis=1).astype(np.float32)


def _chunk_knn(xb: np.ndarray, xq: np.ndarray, k: int, metric: str, block: int) -> tuple[np.ndarray, np.ndarray]:
    q = _unpack(xq)
    q_bits = popcount(xq)
    D = np.zeros((len(xq), 0))
    I = np.zeros((len(xq), 0), dtype=np.int64)
    for start in range(0, xb.shape[0], block):
        codes = xb[start:start + block]
        inter = (q @ _unpack(codes).T).astype(np.int64)
        dist = to_distance(inter, q_bits[:, None] + popcount(codes)[None, :] - inter, metric)
        ids = np.broadcast_to(np.arange(start, start + len(codes)), dist.shape)
        # kept candidates have lower ids than this block, so id order among ties holds
        D, I = keep_best(np.hstack([D, dist]), np.hstack([I, ids]), k)
    return D, I


def exact_binary_knn(xb: np.ndarray, xq: np.ndarray, k: int, metric: str,
                     block: int = BASE_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """``(D, I)`` best first: D float32 (bit count for Hamming, 1 - Tanimoto for Jaccard), I int64."""
    xb = require_codes(xb, "base")
    xq = require_codes(xq, "queries", xb.shape[1])
    k = check_depth(k, xb.shape[0])
    D = np.empty((len(xq), k), dtype=np.float32)
    I = np.empty((len(xq), k), dtype=np.int64)
    for s in range(0, len(xq), QUERY_CHUNK):
        D[s:s + QUERY_CHUNK], I[s:s + QUERY_CHUNK] = _chunk_knn(xb, xq[s:s + QUERY_CHUNK], k, metric, block)
    return D, I

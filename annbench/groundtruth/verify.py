"""Supplied ground truth is checked before it is trusted.

A published truth file may belong to another crop of the base, another metric
(inner product where cosine was meant), or be off by one. So the ids are
checked (in the base, no repeats, deep enough), then a seeded sample of
queries is searched exactly (:func:`annbench.groundtruth.exact_knn` over the
file, in blocks) and compared rank by rank by *distance*, not by id: the j-th
supplied neighbour passes when its exact distance equals the exact j-th
distance within the float32 error a supplier's brute force can make, so a
different choice among tied items is not a disagreement. Any disagreement
fails the import with one line naming how many sampled queries disagree.
"""

from __future__ import annotations

import numpy as np

from annbench.errors import UserError
from annbench.groundtruth.binary import exact_binary_knn
from annbench.groundtruth.exact import exact_knn

SAMPLE = 100  # queries searched exactly to verify a supplied truth
SLACK = 2  # times the float32 error bound of one distance, (d + 4) * 2**-24 relative
_U = 2.0 ** -24


def checked_ids(I: np.ndarray, n: int, nq: int, k: int, what: str) -> np.ndarray:
    """The first ``k`` supplied ids of each query as int64, refused unless they are ``k`` distinct base ids."""
    I = np.asarray(I)
    if I.ndim != 2 or I.shape[0] != nq:
        raise UserError(f"{what}: supplied truth of shape {I.shape} for {nq} queries")
    if I.shape[1] < k:
        raise UserError(f"{what}: the supplied truth holds {I.shape[1]} neighbours per query; --k {k} asks for more")
    I = I[:, :k].astype(np.int64)
    outside = (I < 0) | (I >= n)
    if outside.any():
        q = int(np.argmax(outside.any(axis=1)))
        raise UserError(f"{what}: {int(outside.any(axis=1).sum())} queries name ids outside the base of {n} rows "
                        f"(first: query {q}, id {int(I[q][outside[q]][0])}); a truth must describe this base")
    repeats = (np.diff(np.sort(I, axis=1), axis=1) == 0).any(axis=1)
    if repeats.any():
        raise UserError(f"{what}: {int(repeats.sum())} queries list a neighbour twice (first: query {int(np.argmax(repeats))})")
    return I


def sample_rows(nq: int, sample: int, seed: int) -> np.ndarray:
    """The queries verified: ``sample`` of them (all when fewer), seeded, in order."""
    if sample < 1:
        raise UserError(f"verification sample must be >= 1 query, got {sample}")
    return np.sort(np.random.default_rng(seed).choice(nq, min(sample, nq), replace=False))


def _fail(what: str, bad: np.ndarray, rows: np.ndarray, got: np.ndarray, exact: np.ndarray):
    i = int(np.argmax(bad.any(axis=1)))
    j = int(np.argmax(bad[i]))
    raise UserError(
        f"{what}: the supplied ground truth disagrees with exact search on {int(bad.any(axis=1).sum())} of "
        f"{len(rows)} sampled queries beyond ties (first: query {int(rows[i])}, rank {j + 1}: distance "
        f"{got[i, j]:.6g}, exact {exact[i, j]:.6g}); import without it to compute the truth")


def verify_float(xb, xq: np.ndarray, I: np.ndarray, D: np.ndarray, metric: str, *, max_norm: float, what: str,
                 sample: int = SAMPLE, seed: int = 0, block: int = 65536) -> int:
    """Raise unless the sampled queries' supplied ids reach the exact distances; returns the sample size.

    ``D``: the exact distances of the supplied ids ``I``
    (:func:`annbench.groundtruth.pair_distances.pair_distances`). Compared in
    squared L2 (for unit vectors ``2 (1 - cos)``), where a float32 distance
    errs by at most about ``(d + 4) u (|q| + |x|)^2``; ``max_norm`` bounds
    ``|x|`` (1 for angular bases).
    """
    rows = sample_rows(len(xq), sample, seed)
    xq_s = np.ascontiguousarray(xq[rows], dtype=np.float32)
    exact, _ = exact_knn(xb, xq_s, I.shape[1], metric, block=block)
    got = np.sort(np.asarray(D, dtype=np.float64)[rows], axis=1)
    exact = exact.astype(np.float64)
    if metric == "angular":
        got_sq, exact_sq = 2 * got, 2 * exact
    else:
        got_sq, exact_sq = got ** 2, exact ** 2
    qnorm = np.sqrt(np.einsum("ij,ij->i", xq_s, xq_s, dtype=np.float64))[:, None]
    tol = SLACK * (xq_s.shape[1] + 4) * _U * (qnorm + max_norm) ** 2 + 1e-12
    bad = np.abs(got_sq - exact_sq) > tol
    if bad.any():
        _fail(what, bad, rows, got, exact)
    return len(rows)


def verify_bits(xb: np.ndarray, xq: np.ndarray, I: np.ndarray, metric: str, *, what: str,
                sample: int = SAMPLE, seed: int = 0) -> int:
    """The same check for bit codes, where distances are exact (counts or their ratios)."""
    from annbench.data.bits import distances_of

    rows = sample_rows(len(xq), sample, seed)
    exact, _ = exact_binary_knn(xb, xq[rows], I.shape[1], metric)
    got = np.sort(distances_of(xb, xq[rows], I[rows], metric), axis=1)
    bad = np.abs(got - exact) > 1e-6  # Hamming counts are exact; Jaccard ratios stored in float32
    if bad.any():
        _fail(what, bad, rows, got, exact.astype(np.float64))
    return len(rows)

"""Recall, three ways, from the returned ids alone (a library's own distances are never trusted).

- ``recall`` (strict): |returned top-k ∩ true top-k| / k.
- ``recall_ties`` (big-ann-benchmarks): true neighbours past position k whose
  distance equals the k-th within ``TIE_TOL`` also count.
- ``recall_eps`` (ann-benchmarks): a returned item counts if its distance,
  recomputed here in float64, is <= the true k-th distance + ``EPS``.

Duplicate ids count once; -1 padding is a miss. Every function returns one
value per query; the runner stores the means.
"""

from __future__ import annotations

import numpy as np

TIE_TOL = 1e-5   # ground-truth distances are exact to about this
EPS = 1e-3       # ann-benchmarks' default epsilon
CHUNK = 512


def dedupe(I: np.ndarray) -> np.ndarray:
    """Replace repeated ids in a row by -1, so that duplicates never raise recall."""
    I = np.asarray(I, dtype=np.int64)
    order = np.argsort(I, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(I, order, 1)
    repeat = np.zeros_like(sorted_ids, dtype=bool)
    repeat[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    out = I.copy()
    rows = np.nonzero(repeat)
    out[rows[0], order[rows]] = -1
    return out


def _hits(I: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per query: how many ids of ``I`` (deduped, -1 = miss) are in ``truth`` where ``valid``."""
    counts = np.empty(I.shape[0])
    for s in range(0, I.shape[0], CHUNK):
        a, t, v = I[s:s + CHUNK], truth[s:s + CHUNK], valid[s:s + CHUNK]
        match = (a[:, :, None] == t[:, None, :]) & v[:, None, :] & (a[:, :, None] >= 0)
        counts[s:s + CHUNK] = match.any(axis=2).sum(axis=1)
    return counts


def _check(I: np.ndarray, gt_I: np.ndarray, k: int) -> None:
    from annbench.errors import UserError

    if k > gt_I.shape[1]:
        raise UserError(f"k={k} exceeds the ground-truth depth {gt_I.shape[1]}")
    if I.shape[0] != gt_I.shape[0]:
        raise UserError(f"{I.shape[0]} result rows for {gt_I.shape[0]} queries")


def recall_strict(I: np.ndarray, gt_I: np.ndarray, k: int) -> np.ndarray:
    _check(I, gt_I, k)
    I = dedupe(I[:, :k])
    truth = gt_I[:, :k]
    return _hits(I, truth, np.ones(truth.shape, dtype=bool)) / k


def recall_ties(I: np.ndarray, gt_I: np.ndarray, gt_D: np.ndarray, k: int, tol: float = TIE_TOL) -> np.ndarray:
    _check(I, gt_I, k)
    I = dedupe(I[:, :k])
    valid = gt_D <= gt_D[:, k - 1:k] + tol
    return np.minimum(_hits(I, gt_I, valid), k) / k


def distances_of(xb: np.ndarray, xq: np.ndarray, I: np.ndarray, metric: str) -> np.ndarray:
    """ann-benchmarks distances of the returned ids, in float64; -1 gives +inf."""
    out = np.full(I.shape, np.inf)
    if metric in ("hamming", "jaccard"):  # packed codes: counts of bits, not coordinates
        from annbench.data.bits import distances_of as bit_distances

        for s in range(0, I.shape[0], CHUNK):
            out[s:s + CHUNK] = bit_distances(xb, xq[s:s + CHUNK], I[s:s + CHUNK], metric)
        return out
    for s in range(0, I.shape[0], CHUNK):
        ids = I[s:s + CHUNK]
        ok = ids >= 0
        vecs = np.asarray(xb[np.where(ok, ids, 0)], dtype=np.float64)
        q = np.asarray(xq[s:s + CHUNK], dtype=np.float64)[:, None, :]
        if metric == "angular":
            d = 1.0 - (vecs * q).sum(-1)
        elif metric == "euclidean":
            d = np.sqrt(((vecs - q) ** 2).sum(-1))
        else:
            raise ValueError(f"distances_of: float metric expected, got {metric}")
        out[s:s + CHUNK] = np.where(ok, d, np.inf)
    return out


def recall_eps(dist: np.ndarray, I: np.ndarray, gt_D: np.ndarray, k: int, eps: float = EPS) -> np.ndarray:
    """``dist``: distances of the returned ids recomputed by :func:`distances_of`."""
    I = dedupe(I[:, :k])
    ok = (I >= 0) & (dist[:, :k] <= gt_D[:, k - 1:k] + eps)
    return ok.sum(axis=1) / k


def all_recalls(xb, xq, I: np.ndarray, gt_I: np.ndarray, gt_D: np.ndarray, k: int, metric: str) -> dict[str, float]:
    """The three recalls, averaged over queries."""
    return {
        "recall": float(recall_strict(I, gt_I, k).mean()),
        "recall_ties": float(recall_ties(I, gt_I, gt_D, k).mean()),
        "recall_eps": float(recall_eps(distances_of(xb, xq, I[:, :k], metric), I, gt_D, k).mean()),
    }


def float_recalls(I: np.ndarray, gt_I: np.ndarray | None, gt_D: np.ndarray | None, k: int) -> dict:
    """Recall against the float truth (for binary codes: the parent's cosine truth); None without one."""
    if gt_I is None:
        return {"recall_float": None, "recall_float_ties": None}
    return {"recall_float": float(recall_strict(I, gt_I, k).mean()),
            "recall_float_ties": float(recall_ties(I, gt_I, gt_D, k).mean())}

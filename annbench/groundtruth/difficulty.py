"""How hard each query is, by the measures VIBE uses: why text queries are harder for graph indexes.

- ``lid``: local intrinsic dimensionality, the maximum-likelihood estimate
  from the query's exact k nearest distances (Levina & Bickel; Amsaleg et al.):
  ``-1 / mean_i log(d_i / d_k)``. High: the neighbourhood is many-dimensional,
  hard to navigate.
- ``rc``: relative contrast, the query's mean distance to the base (over a
  seeded sample of base rows) / its distance to the k-th neighbour. Near 1: the
  neighbours barely stand out from the rest.
- ``ood``: how far the query lies out of the base's distribution: its distance
  to its nearest base item / the median of the same for base items (each base
  item of a seeded sample against the rest of the base). Near 1 for queries
  drawn like the base (image queries on an image base); text queries on CLIP
  images lie well outside (the modality gap).

Distances are the dataset's (ann-benchmarks: 1 - cos for angular, L2), taken
from the stored exact ground truth; only the samples are searched here.
"""

from __future__ import annotations

import numpy as np

from annbench.groundtruth.exact import exact_knn

K = 10          # neighbours the LID and the contrast use
SAMPLE = 1000   # base rows for the mean distance and for the base's own nearest-neighbour distance
MEASURES = {"lid": "local intrinsic dimensionality", "rc": "relative contrast",
            "ood": "out-of-distribution (NN distance / the base's own)"}


def lid(gt_D: np.ndarray, k: int = K) -> np.ndarray:
    d = np.asarray(gt_D[:, :k], dtype=np.float64)
    dk = d[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(d > 0, d, np.nan) / dk)
        est = -1.0 / np.nanmean(logs[:, :-1], axis=1)
    return np.where(np.isfinite(est) & (dk[:, 0] > 0), est, np.nan)


def _distances(rows: np.ndarray, xq: np.ndarray, metric: str) -> np.ndarray:
    rows, xq = rows.astype(np.float64), xq.astype(np.float64)
    if metric == "angular":
        return 1.0 - xq @ rows.T
    sq = (xq ** 2).sum(1)[:, None] + (rows ** 2).sum(1)[None, :] - 2.0 * xq @ rows.T
    return np.sqrt(np.maximum(sq, 0.0))


def _sample_ids(nb: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(nb, size=min(SAMPLE, nb), replace=False))


def relative_contrast(xb, xq: np.ndarray, gt_D: np.ndarray, metric: str, k: int = K, seed: int = 0) -> np.ndarray:
    sample = np.asarray(xb[_sample_ids(int(xb.shape[0]), seed)])
    mean = np.concatenate([_distances(sample, xq[s:s + 256], metric).mean(axis=1) for s in range(0, len(xq), 256)])
    dk = np.asarray(gt_D[:, k - 1], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dk > 0, mean / dk, np.nan)


def base_nn_distance(xb, metric: str, seed: int = 0) -> float:
    """The median distance from a base item to its nearest other base item (a seeded sample)."""
    ids = _sample_ids(int(xb.shape[0]), seed)
    D, I = exact_knn(xb, np.asarray(xb[ids], dtype=np.float32), k=min(2, int(xb.shape[0])), metric=metric,
                     use_gpu=False)
    own = I[:, 0] == ids  # the item itself comes first, unless an exact duplicate precedes it
    nearest = np.where(own, D[:, -1], D[:, 0])
    return float(np.median(nearest))


def query_difficulty(xb, xq: np.ndarray, gt_D: np.ndarray, metric: str, base_nn: float | None = None,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """``{"lid", "rc", "ood"}``, one value per query (NaN where undefined). ``base_nn``: a
    :func:`base_nn_distance` already computed for this base (it does not depend on the queries)."""
    k = min(K, gt_D.shape[1])
    base_nn = base_nn_distance(xb, metric, seed) if base_nn is None else base_nn
    with np.errstate(divide="ignore", invalid="ignore"):
        ood = np.asarray(gt_D[:, 0], dtype=np.float64) / base_nn if base_nn > 0 else np.full(len(xq), np.nan)
    return {"lid": lid(gt_D, k), "rc": relative_contrast(xb, xq, gt_D, metric, k, seed), "ood": ood}

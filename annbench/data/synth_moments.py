"""Statistics of a sample that clip-synth ``--like`` matches: the same numbers on the real sample and
on synthetic samples of the same size (a fit by simulated moments, so a small sample's biases cancel).

- spectrum: the cumulative share of variance of the sample's principal directions;
- structure: the 10th, 50th and 90th percentile of each row's nearest-neighbour
  cosine (how close neighbours are, and how unevenly: tight and loose concepts);
- pairing: the mean cosine of each other-modality row's best and 5th-best match, how far its best
  match stands out among its scores (z-score) and their tails' weight (kurtosis).

Tried and dropped: the share of each row's 5 nearest neighbours in its own cell of
a 4-cell k-means (the coarse cluster structure an inverted file sees). On 90 real
CLIP images it is high (0.79) for a sample that small, and matching it pulled the
fit to models too clustered at 900 rows (image->image IVF recall at nprobe 1 too
high by 0.08 on average over splits; bench/synth_fit.py measures it).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


NEIGHBOURS = 5   # the pairing statistic's depth (the 5th-best match)
# the spectrum fit's starting grid: log knee, decay, log cutoff (see synth_geometry.power_spectrum)
SPECTRUM_GRID = [np.array(p) for p in np.array(np.meshgrid([-1.0, 1.0, 3.0], [0.4, 0.9, 1.4],
                                                             [4.0, 5.5, 7.0])).reshape(3, -1).T]


def structure_stats(x: np.ndarray) -> np.ndarray:
    """10th, 50th, 90th percentile of the rows' nearest-neighbour cosine (unit rows, self excluded)."""
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    return np.quantile(s.max(axis=1), [0.1, 0.5, 0.9])


def cross_stats(xb: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """Mean cosine of each query's best and 5th-best match in ``xb``."""
    return _best(xq @ xb.T)


def _best(scores: np.ndarray) -> np.ndarray:
    """Mean of each row's best and NEIGHBOURS-th best score."""
    top = -np.sort(-scores, axis=1)[:, :NEIGHBOURS]
    return np.array([top[:, 0].mean(), top[:, -1].mean()])


def pairing_stats(xb: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """:func:`cross_stats`, then how far each query's best score stands out among its scores over
    ``xb`` (z-score) and how heavy their tails are (excess kurtosis), each averaged over the queries."""
    s = xq @ xb.T
    z = (s - s.mean(axis=1, keepdims=True)) / np.maximum(s.std(axis=1, keepdims=True), 1e-12)
    return np.concatenate([_best(s), [z.max(axis=1).mean(), ((z ** 4).mean(axis=1) - 3).mean()]])


def eigenvalues(x: np.ndarray) -> np.ndarray:
    """Principal variances of the rows, largest first (at most min(n - 1, d) of them)."""
    c = x - x.mean(axis=0)
    n, d = c.shape
    gram = c @ c.T if n <= d else c.T @ c
    ev = np.linalg.eigvalsh(gram.astype(np.float64))[::-1] / max(n - 1, 1)
    return np.clip(ev[:min(n - 1, d)], 0.0, None)


def cumulative_spectrum(x: np.ndarray) -> np.ndarray:
    """Share of the variance in the top 1, 2, ... principal directions of the rows."""
    ev = eigenvalues(x)
    return np.cumsum(ev) / max(ev.sum(), 1e-30)


def fit_spectrum(x: np.ndarray, draw: Callable[[float, float, float], list[np.ndarray]],
                 start: tuple[float, float, float] | None = None) -> tuple[float, float, float]:
    """``(knee, decay, cutoff)`` whose rows, ``draw(knee, decay, cutoff)`` (samples of ``x``'s size),
    show the cumulative spectrum of ``x``; from ``start``, or else the best of a coarse grid.

    A sample of n rows cannot resolve more than n - 1 directions and spreads the
    ones it sees (the top too large, the rest too small): comparing like with
    like, the fitted power law covers the directions the sample cannot see.
    """
    target = cumulative_spectrum(x)

    def loss(p: np.ndarray) -> float:
        got = np.mean([cumulative_spectrum(z) for z in draw(float(np.exp(p[0])), float(p[1]), float(np.exp(p[2])))],
                      axis=0)
        return float(np.mean((got - target) ** 2))

    if start is None:
        first = min(SPECTRUM_GRID, key=loss)
    else:
        first = np.array([np.log(start[0]), start[1], np.log(start[2])])
    best = coordinate_search(loss, first, steps=[0.5, 0.2, 0.5], lo=[-3.0, 0.0, 2.5], hi=[5.0, 3.0, 10.0], rounds=3)
    return float(np.exp(best[0])), float(best[1]), float(np.exp(best[2]))


def coordinate_search(loss: Callable[[np.ndarray], float], start, steps, lo, hi, rounds: int = 4) -> np.ndarray:
    """Minimise ``loss`` one coordinate at a time, halving the steps each round (no derivatives needed)."""
    x, steps = np.array(start, float), np.array(steps, float)
    fx = loss(x)
    for _ in range(rounds):
        moved = True
        while moved:
            moved = False
            for i in range(len(x)):
                for sign in (1.0, -1.0):
                    y = x.copy()
                    y[i] = np.clip(y[i] + sign * steps[i], lo[i], hi[i])
                    if y[i] != x[i] and (fy := loss(y)) < fx:
                        x, fx, moved = y, fy, True
                        break
        steps /= 2
    return x

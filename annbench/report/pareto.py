"""The recall/QPS Pareto frontier: the settings worth considering at all.

A point is dominated when another is at least as good on both axes and
strictly better on one; everything else is on the frontier. Pure functions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def pareto_mask(recall: Sequence[float], qps: Sequence[float]) -> np.ndarray:
    """True where no other point dominates; NaNs are never on the frontier, exact duplicates both are."""
    r = np.asarray(recall, dtype=float)
    q = np.asarray(qps, dtype=float)
    mask = np.zeros(r.shape[0], dtype=bool)
    idx = np.flatnonzero(np.isfinite(r) & np.isfinite(q))
    order = idx[np.lexsort((-q[idx], -r[idx]))]  # recall descending, then QPS descending
    best_q, best_r = -np.inf, np.nan
    for i in order:
        if q[i] > best_q:
            mask[i], best_q, best_r = True, q[i], r[i]
        elif q[i] == best_q and r[i] == best_r:
            mask[i] = True
    return mask


def frontier(df: pd.DataFrame, recall_col: str, qps_col: str = "qps") -> pd.DataFrame:
    """The frontier rows of ``df``, by increasing recall (the order a frontier line is drawn in)."""
    if df.empty:
        return df
    on = df[pareto_mask(df[recall_col].to_numpy(), df[qps_col].to_numpy())]
    return on.sort_values([recall_col, qps_col], ascending=[True, False], kind="mergesort")

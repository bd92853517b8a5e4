"""Recall against query difficulty: why text queries are harder for graph indexes.

The measures (:mod:`annbench.groundtruth.difficulty`: local intrinsic
dimensionality, relative contrast, out-of-distribution) are computed once per
dataset file and query set from its stored exact truth and two seeded base
samples. Each index is taken at its typical setting (the saved point closest
to recall 0.9, as in the query explorer); its per-query recall is the one the
sweep saved (``--save-neighbors``), else it is computed from the saved ids.
Queries are cut into equal-count bins of a measure; a line per index gives
the mean recall of each bin at the bin's median difficulty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annbench.data.model import Dataset
from annbench.metrics import recall_ties
from annbench.report import fmt, spec
from annbench.report.explorer import load_saved, open_dataset, typical_settings
from annbench.report.measures import measures
from annbench.report.recommend import series_name

BINS = 5
CHARTS = {"lid": ("local intrinsic dimensionality (LID) of the query", True),
          "ood": ("out-of-distribution: NN distance / the base's own", True)}


def _per_query_recall(row: pd.Series, ds: Dataset, qset: str) -> np.ndarray | None:
    qs = ds.query_sets[qset]
    saved = load_saved(row, "per_query_recall_file")
    if saved is not None and saved.shape == (qs.nq,):
        return saved.astype(np.float64)
    ids = load_saved(row)
    if ids is None or ids.ndim != 2 or ids.shape[0] != qs.nq:
        return None
    k = int(min(row["k"], ids.shape[1], qs.gt_depth))
    return recall_ties(ids.astype(np.int64), qs.neighbors, qs.distances, k)


def _chart(measure: str, values: np.ndarray, curves: list[tuple[pd.Series, np.ndarray]], colors: dict[str, str],
           cid: str) -> dict | None:
    ok = np.isfinite(values)
    if ok.sum() < BINS * 2:
        return None
    order = np.argsort(values[ok], kind="stable")
    bins = np.array_split(np.flatnonzero(ok)[order], BINS)
    label, log = CHARTS[measure]
    out = []
    for row, recall in curves:
        pts = [spec.point(float(np.median(values[b])), float(recall[b].mean()),
                          [["index", series_name(row["index"], row["device"])],
                           ["setting", f"{row['build_label']} · {row['search_label']}"],
                           [label, f"{np.min(values[b]):.3g} to {np.max(values[b]):.3g}"],
                           ["queries in the bin", fmt.number(len(b))],
                           ["mean recall (tie-aware)", fmt.recall(recall[b].mean())]]) for b in bins]
        out.append(spec.series(series_name(row["index"], row["device"]), colors.get(row["index"], "#888"), pts,
                               line="all", marker="square" if row["device"] != "cpu" else "circle"))
    positive = bool((values[ok] > 0).all())
    return spec.chart(cid, "line", f"Recall vs query difficulty: {label}",
                      f"queries in {BINS} equal-count bins; each index at its setting closest to recall 0.9",
                      spec.axis(label, log=log and positive), spec.axis("mean recall (tie-aware) of the bin", top=1.0),
                      out)


def charts(rows: pd.DataFrame, recall_col: str, colors: dict[str, str], search_dirs: tuple[Path, ...],
           cache: dict, gid: str) -> list[dict]:
    """The section's difficulty charts; none without saved ids or a readable dataset file."""
    picks = typical_settings(rows, recall_col, colors)
    if not picks:
        return []
    ds, _ = open_dataset(rows, search_dirs, cache)
    qset = str(rows["query_set"].iloc[0])
    if ds is None or qset not in ds.query_sets or ds.point_type == "bit":
        return []
    curves = [(p, r) for p in picks if (r := _per_query_recall(p, ds, qset)) is not None]
    if not curves:
        return []
    found = measures(ds, qset, cache)
    made = [_chart(m, found[m], curves, colors, f"{gid}-difficulty-{m}") for m in CHARTS]
    return [c for c in made if c is not None]


def section_medians(rows: pd.DataFrame, search_dirs: tuple[Path, ...], cache: dict) -> dict[str, float] | None:
    """The medians of the section's query set, when its dataset file can be read (float data)."""
    ds, _ = open_dataset(rows, search_dirs, cache)
    qset = str(rows["query_set"].iloc[0])
    if ds is None or qset not in ds.query_sets or ds.point_type == "bit":
        return None
    return {name: float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
            for name, v in measures(ds, qset, cache).items()}

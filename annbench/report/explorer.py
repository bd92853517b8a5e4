"""Query explorer data: what a few real queries get back, exact vs each index.

Numbers say "recall 0.9"; the explorer shows what that means for a caption:
the exact top-k with similarities beside each index's top-k at a typical
setting (the one closest to recall 0.9), misses marked. It shows the hardest,
a typical and the easiest query by misses, and queries across the range of
difficulty (local intrinsic dimensionality), each with its difficulty, so the
page can sort them. It needs the ids a
sweep saved (``--save-neighbors``) and a readable dataset file; without them
it says why instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annbench.data.hdf5io import read_dataset
from annbench.data.model import Dataset
from annbench.errors import UserError
from annbench.metrics import TIE_TOL, distances_of
from annbench.report.measures import measures
from annbench.report.recommend import closest_to, series_name

DEPTH = 10                   # rows shown per query
TYPICAL_RECALL = 0.9


def resolve_dataset(given: str, results_dir: Path, search_dirs: tuple[Path, ...] = ()) -> Path | None:
    """The dataset file a sweep was given, looked up as given, then beside the results, then by name."""
    path = Path(given)
    candidates = [path] if path.is_absolute() else [path] + [base / path for base in (results_dir, *results_dir.resolve().parents)]
    candidates += [d / path.name for d in search_dirs]
    return next((c for c in candidates if c.is_file()), None)


def typical_settings(rows: pd.DataFrame, recall_col: str, colors: dict[str, str]) -> list[pd.Series]:
    """Per index and device, the saved point closest to the typical recall."""
    saved = rows[rows["neighbors_file"].notna()]
    picks = [closest_to(part, recall_col, TYPICAL_RECALL) for _, part in saved.groupby(["index", "device"], sort=True)]
    return [p for p in picks if p is not None and p["index"] in colors]


def load_saved(row: pd.Series, field: str = "neighbors_file") -> np.ndarray | None:
    """An array a sweep saved beside a point (its ids, or its per-query recall); None if unreadable."""
    if not isinstance(row.get(field), str):
        return None
    path = Path(row["results_dir"]) / str(row[field])
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def _misses(found: list[np.ndarray], truth: np.ndarray, k: int) -> np.ndarray:
    """Per query: exact top-k neighbours missed, summed over the indexes."""
    misses = np.zeros(truth.shape[0])
    for ids in found:
        hit = (ids[:, :k, None] == truth[:, None, :k]).any(axis=2)
        misses += k - hit.sum(axis=1)
    return misses


def _pick_queries(misses: np.ndarray, lid: np.ndarray | None, n: int) -> list[tuple[int, str]]:
    """The hardest, a typical and the easiest query by misses, then queries across the range of
    local intrinsic dimensionality (lowest to highest), up to ``n``."""
    order = np.argsort(-misses, kind="stable")
    wanted = [(int(order[0]), "hardest"), (int(order[len(order) // 2]), "typical"), (int(order[-1]), "easiest")]
    if lid is not None and np.isfinite(lid).any():
        by_lid = np.flatnonzero(np.isfinite(lid))[np.argsort(lid[np.isfinite(lid)], kind="stable")]
        for q in np.quantile(np.arange(len(by_lid)), np.linspace(0, 1, max(n - 3, 2))).round().astype(int):
            wanted.append((int(by_lid[q]), "by difficulty"))
    picks: list[tuple[int, str]] = []
    for q, role in wanted:
        if len(picks) < n and q not in [p for p, _ in picks]:
            picks.append((q, role))
    return picks


def _item(ds: Dataset, idx: int, dist: float, status: str | None = None) -> dict:
    label = ds.base_labels[idx] if ds.base_labels is not None and 0 <= idx < len(ds.base_labels) else f"#{idx}"
    score = 1.0 - dist if ds.metric == "angular" else dist
    out = {"id": int(idx), "label": label, "score": None if not np.isfinite(score) else round(float(score), 4)}
    return out | ({"status": status} if status else {})


def _query(ds: Dataset, qset: str, q: int, role: str, found: list[np.ndarray], k: int) -> dict:
    qs = ds.query_sets[qset]
    gt_i, gt_d = qs.neighbors[q], qs.distances[q]
    exact = [_item(ds, int(i), float(d)) for i, d in zip(gt_i[:k], gt_d[:k])]
    columns = []
    for ids in found:
        row = ids[q, :k]
        # the base is read lazily: fetch the k rows, then measure against them
        rows = np.asarray(ds.xb[np.where(row >= 0, row, 0)])
        dist = distances_of(rows, qs.queries[q:q + 1], np.where(row >= 0, np.arange(len(row)), -1)[None, :],
                            ds.metric)[0]
        col = []
        for i, d in zip(row, dist):
            if i < 0:
                col.append({"id": -1, "label": "(nothing returned)", "score": None, "status": "none"})
                continue
            status = "hit" if i in gt_i[:k] else ("tie" if d <= gt_d[k - 1] + TIE_TOL else "miss")
            col.append(_item(ds, int(i), float(d), status))
        columns.append(col)
    label = qs.labels[q] if qs.labels is not None and q < len(qs.labels) else f"query #{q}"
    return {"qid": q, "role": role, "label": label, "exact": exact, "found": columns}


def open_dataset(rows: pd.DataFrame, search_dirs: tuple[Path, ...], cache: dict) -> tuple[Dataset | None, str | None]:
    given = rows["dataset_path"].dropna()
    if given.empty:
        return None, "the records do not say which dataset file they came from (dataset_path)"
    path = resolve_dataset(str(given.iloc[0]), Path(rows["results_dir"].iloc[0]), search_dirs)
    if path is None:
        return None, f"dataset file not found: {given.iloc[0]}"
    key = str(path.resolve())
    if key not in cache:  # sections of one dataset share one read
        try:
            cache[key] = (read_dataset(path, lazy_base=True), None)  # only the shown rows are read
        except (UserError, OSError, KeyError, ValueError) as exc:
            cache[key] = (None, f"cannot read {path}: {exc}")
    return cache[key]


def explore(rows: pd.DataFrame, recall_col: str, colors: dict[str, str], search_dirs: tuple[Path, ...] = (),
            n_queries: int = 8, cache: dict | None = None) -> dict:
    """Explorer data for one section's ok rows: ``{"note"}`` alone when it cannot be shown.

    ``cache``: a dict shared across calls, so a dataset file is read once per report.
    """
    picks = typical_settings(rows, recall_col, colors)
    if not picks:
        return {"note": "no returned ids were saved (run the sweep with --save-neighbors to see sample queries)"}
    cache = {} if cache is None else cache
    ds, note = open_dataset(rows, search_dirs, cache)
    if ds is None:
        return {"note": note}
    qset = str(rows["query_set"].iloc[0])
    if qset not in ds.query_sets:
        return {"note": f"the dataset file has no query set {qset!r}"}
    loaded = [(p, load_saved(p)) for p in picks]
    nq_set = ds.query_sets[qset].nq
    # rows are the set's first queries (a sweep may have used only some of them)
    nb = int(ds.xb.shape[0])  # ids beyond the base: the file was saved against another dataset
    loaded = [(p, ids) for p, ids in loaded if ids is not None and ids.ndim == 2 and 0 < ids.shape[0] <= nq_set
              and ids.size and np.issubdtype(ids.dtype, np.integer) and int(ids.max()) < nb]
    if not loaded:
        return {"note": "the saved neighbour files are missing or do not match the dataset's queries"}
    k = int(min(DEPTH, min(ids.shape[1] for _, ids in loaded), ds.query_sets[qset].gt_depth))
    n_rows = min(ids.shape[0] for _, ids in loaded)
    found = [ids[:n_rows].astype(np.int64) for _, ids in loaded]
    settings = [{"name": series_name(p["index"], p["device"]), "color": colors[p["index"]], "build": p["build_label"],
                 "search": p["search_label"], "recall": float(p[recall_col])} for p, _ in loaded]
    misses = _misses(found, ds.query_sets[qset].neighbors[:n_rows], k)
    hard = measures(ds, qset, cache) if ds.point_type != "bit" and n_rows == ds.query_sets[qset].nq else {}
    queries = []
    for q, role in _pick_queries(misses, hard.get("lid"), n_queries):
        item = _query(ds, qset, q, role, found, k)
        item["difficulty"] = {"misses": int(misses[q]), **{m: _finite(v[q]) for m, v in hard.items()}}
        queries.append(item)
    return {"note": None, "metric": ds.metric, "k": k, "settings": settings, "queries": queries}


def _finite(value) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None

"""How an index's settings behave: batch latency vs nq, and recall vs its search knob.

One chart per index, one line per setting, drawn in shades of the index's own
colour (light = cheapest setting), GPU lines dashed beside CPU ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annbench.report import spec
from annbench.results.crossover import apart, crossover
from annbench.report.palette import shades


def _settings(part: pd.DataFrame, keys: list[str]) -> list[tuple]:
    """Distinct settings of ``keys`` columns, ordered by build then search values, CPU first."""
    first = part.drop_duplicates(keys)
    order = sorted(first.itertuples(index=False),
                   key=lambda r: (spec.setting_key(r.build), spec.setting_key(r.search), r.device))
    return [tuple(getattr(r, k) for k in keys) for r in order]


def latency_chart(df: pd.DataFrame, index: str, recall_col: str, color: str, cid: str) -> dict | None:
    """Milliseconds per batch vs nq, one line per (build, search, device) of ``index``."""
    part = df[(df["index"] == index) & df["batch_p50_ms"].notna()]
    if part.empty or part["nq"].nunique() < 2:
        return None
    keys = ["build_label", "search_label", "device"]
    settings = _settings(part, keys)
    palette = shades(color, len(settings))
    tag_device = part["device"].nunique() > 1  # "[cpu]" only where GPU lines are beside it
    out = []
    for shade, (build, search, device) in zip(palette, settings):
        line = part[(part["build_label"] == build) & (part["search_label"] == search) & (part["device"] == device)]
        line = line.sort_values(["nq", "id"], kind="mergesort").drop_duplicates("nq")
        pts = [spec.point(r["nq"], r["batch_p50_ms"], spec.point_info(r, recall_col), spread=spec.latency_spread(r)) for _, r in line.iterrows()]
        name = _setting_name(build, search, index)
        out.append(spec.series(f"{name} [{device}]" if tag_device else name, shade, pts, line="all", dash=device != "cpu",
                               marker="square" if device != "cpu" else "circle"))
    devices = " and ".join(sorted(part["device"].unique()))
    return spec.chart(cid, "line", f"{index}: query time per batch vs nq",
                      f"median ms per batch, {devices}; bars: the rounds' min–max; one line per setting, darker = later setting"
                      + _crossover_note(part, recall_col),
                      spec.axis("nq (queries per batch)", log=True), spec.axis("ms per batch (p50)", log=True), out)


def _setting_name(build: str, search: str, index: str) -> str:
    """``nlist=256 · nprobe=8``: a line's name in a chart, the index's where it has no parameters."""
    return " · ".join(s for s in (build, search) if s != "-") or index


def _crossover_note(part: pd.DataFrame, recall_col: str, listed: int = 3) -> str:
    """``. GPU beats CPU from nq=8 for nprobe=4, nprobe=8; from nq=40 for 6 settings; never (up to nq=1,000)
    for nprobe=64``: settings grouped by their crossover, named where few (the summary names each)."""
    table = crossover(part, recall_col)
    if table.empty:
        return ""
    order = {(r.build_label, r.search_label): (spec.setting_key(r.build), spec.setting_key(r.search))
             for r in part.itertuples()}
    table = table.assign(_key=[order[(b, s)] for b, s in zip(table["build_label"], table["search_label"])],
                         suffix=apart(table))
    groups = []
    for when, group in table.groupby(table["crossover_nq"].fillna(float("inf")), sort=True):
        group = group.sort_values("_key")
        names = [_setting_name(r.build_label, r.search_label, r.index) + r.suffix for r in group.itertuples()]
        who = ", ".join(names) if len(names) <= listed else f"{len(names)} settings"
        head = f"from nq={int(when):,}" if when != float("inf") else f"never (up to nq={group['max_nq'].max():,})"
        groups.append(f"{head} for {who}")
    return ". GPU beats CPU " + "; ".join(groups)


def _knob(part: pd.DataFrame) -> str | None:
    """The search parameter that varies most: the x axis of the recall curve."""
    counts = {}
    for params in part["search"]:
        for name, value in params.items():
            counts.setdefault(name, set()).add(str(value))
    varying = [(len(v), name) for name, v in counts.items() if len(v) > 1]
    return max(varying)[1] if varying else None


def _numeric(values) -> np.ndarray | None:
    try:
        out = np.asarray([float(v) for v in values])
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out).all() else None


def recall_param_chart(df: pd.DataFrame, index: str, recall_col: str, color: str, cid: str) -> dict | None:
    """Recall vs the varying search parameter, one line per build setting (and device)."""
    part = df[(df["index"] == index) & df[recall_col].notna()]
    knob = _knob(part) if len(part) else None
    if knob is None:
        return None
    part = part[[knob in s for s in part["search"]]]
    # recall does not depend on nq: keep each setting's largest-nq point
    part = part.sort_values(["nq", "id"], ascending=[False, True], kind="mergesort").drop_duplicates(
        ["build_label", "search_label", "device"])
    xs = _numeric([s[knob] for s in part["search"]])
    categories = None if xs is not None else sorted({str(s[knob]) for s in part["search"]})
    lines = _settings(part, ["build_label", "device"])
    tag_device = part["device"].nunique() > 1
    out = []
    for shade, (build, device) in zip(shades(color, len(lines)), lines):
        line = part[(part["build_label"] == build) & (part["device"] == device)]
        line = line.assign(_x=[s[knob] for s in line["search"]])
        line = line.assign(_k=[spec.setting_key(s) for s in line["search"]]).sort_values("_k", kind="mergesort")
        pts = [spec.point(float(r["_x"]) if categories is None else str(r["_x"]), r[recall_col],
                          spec.point_info(r, recall_col)) for _, r in line.iterrows()]
        name = build if build != "-" else index
        out.append(spec.series(f"{name} [{device}]" if tag_device else name, shade, pts, line="all", dash=device != "cpu",
                               marker="square" if device != "cpu" else "circle"))
    log_x = xs is not None and xs.min() > 0 and xs.max() / xs.min() >= 8
    return spec.chart(cid, "line", f"{index}: {spec.RECALL_NAMES[recall_col]} vs {knob}",
                      "one line per build setting; each setting at its largest nq",
                      spec.axis(knob, log=log_x, categories=categories), spec.axis(spec.RECALL_NAMES[recall_col], top=1.0), out)

"""Chart specifications: plain, JSON-ready dicts that both renderers draw.

The browser (assets/chart.js) and matplotlib (charts.py) read the same spec,
so the interactive chart and its PNG/SVG file always show the same data.

chart  {id, kind: "scatter" | "line" | "bar", title, subtitle, x: axis, y: axis, series: [...]}
axis   {label, log, max (a bound of the values), categories (bar charts, categorical x)}
series {name, color, line: "none" | "frontier" | "all", dash, marker, points: [...]}
point  {x, y, faded, color (bars), info: [[name, value], ...] shown on hover}
"""

from __future__ import annotations

import re

import pandas as pd

from annbench.report import fmt
from annbench.report.recommend import series_name

RECALL_NAMES = {"recall_ties": "recall (tie-aware)", "recall": "recall (strict)", "recall_eps": "recall (distance ε)",
                "recall_float_ties": "recall (float truth, tie-aware)", "recall_float": "recall (float truth, strict)"}
FLOAT_TRUTH_NAMES = ("recall_float_ties", "recall_float")  # shown for binary points (a float point's equal its own)


def axis(label: str, log: bool = False, categories: list[str] | None = None, top: float | None = None) -> dict:
    """``top``: a hard upper bound of the values (recall never exceeds 1), so ticks stop there."""
    out: dict = {"label": label, "log": log}
    if top is not None:
        out["max"] = top
    if categories is not None:
        out["categories"] = categories
    return out


def chart(cid: str, kind: str, title: str, subtitle: str, x: dict, y: dict, series: list[dict]) -> dict:
    return {"id": cid, "kind": kind, "title": title, "subtitle": subtitle, "x": x, "y": y, "series": series}


def series(name: str, color: str, points: list[dict], *, line: str = "none", dash: bool = False,
           marker: str = "circle") -> dict:
    return {"name": name, "color": color, "line": line, "dash": dash, "marker": marker, "points": points}


def point(x, y, info: list[list[str]], faded: bool = False, color: str | None = None) -> dict:
    out = {"x": x if isinstance(x, str) else fmt.sig(x), "y": fmt.sig(y), "faded": bool(faded), "info": info}
    if color is not None:
        out["color"] = color
    return out


def point_info(row: pd.Series, recall_col: str) -> list[list[str]]:
    """Everything a reader needs to reproduce or judge a point, in reading order."""
    pairs = [
        ("index", series_name(row["index"], row["device"])),
        ("build", row["build_label"]),
        ("search", row["search_label"]),
        ("nq / k", f"{fmt.number(row['nq'])} / {fmt.number(row['k'])}"),
        ("threads", fmt.number(row["threads"])),
        (RECALL_NAMES[recall_col], fmt.recall(row[recall_col])),
    ]
    binary = row.get("point_type") == "bit"
    pairs += [(RECALL_NAMES[c], fmt.recall(row[c])) for c in RECALL_NAMES
              if c != recall_col and (binary or c not in FLOAT_TRUTH_NAMES)]
    pairs += [
        ("QPS", fmt.qps(row["qps"])),
        ("batch ms p50/p95/p99", "/".join(fmt.ms(row[c]) for c in ("batch_p50_ms", "batch_p95_ms", "batch_p99_ms"))),
        ("build (train + add)", f"{fmt.seconds(row['build_s'])} ({fmt.seconds(row['train_s'])} + {fmt.seconds(row['add_s'])})"),
        ("index size", fmt.megabytes(row["index_bytes"])),
        ("memory growth", fmt.megabytes(row["memory_bytes"])),
        ("distances / query", fmt.number(row["ndis_per_query"])),
        ("run", row["run_id"] or "–"),
    ]
    return [[name, str(value)] for name, value in pairs if value not in ("–", "– / –", "–/–/–")]


def slug(text: str) -> str:
    """A file-name-safe id made from data (dataset names are not trusted as paths)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:48] or "x"


def _sortable(value) -> tuple:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def setting_key(params: dict) -> tuple:
    """Order settings by their values, numerically where they are numbers (nprobe 2 < 16)."""
    return tuple((name, _sortable(value)) for name, value in sorted(params.items()))

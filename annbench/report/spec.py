"""Chart specifications: plain, JSON-ready dicts that both renderers draw.

The browser (assets/chart.js) and matplotlib (charts.py) read the same spec,
so the interactive chart and its PNG/SVG file always show the same data.

chart  {id, kind: "scatter" | "line" | "bar", title, subtitle, x: axis, y: axis, series: [...]}
axis   {label, log, max (a bound of the values), categories (bar charts, categorical x)}
series {name, color, line: "none" | "frontier" | "all", dash, marker, points: [...]}
point  {x, y, faded, color (bars), ylo and yhi (the spread of y over the rounds, drawn as an
       error bar; absent when unknown), info: [[name, value], ...] shown on hover}
"""

from __future__ import annotations

import re

import pandas as pd

from annbench.quality import quality_text
from annbench.report import fmt
from annbench.report.recommend import series_name
from annbench.results.schema import PERCENTILE_MIN_BATCHES

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


def point(x, y, info: list[list[str]], faded: bool = False, color: str | None = None,
          spread: tuple | None = None) -> dict:
    """``spread``: (low, high) of y over the rounds, drawn as an error bar where both are known and differ."""
    out = {"x": x if isinstance(x, str) else fmt.sig(x), "y": fmt.sig(y), "faded": bool(faded), "info": info}
    if color is not None:
        out["color"] = color
    if spread is not None:
        lo, hi = (fmt.sig(v) for v in spread)
        if lo is not None and hi is not None and lo != hi:
            out["ylo"], out["yhi"] = lo, hi
    return out


def qps_spread(row: pd.Series) -> tuple:
    return row.get("qps_min"), row.get("qps_max")


def latency_spread(row: pd.Series) -> tuple:
    return row.get("batch_p50_ms_min"), row.get("batch_p50_ms_max")


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
    spread = fmt.qps_range(row.get("qps_min"), row.get("qps_max"))
    batches = row.get("batches_timed")
    pairs += [
        ("QPS (median of rounds)", fmt.qps(row["qps"]) + (f" ({spread})" if spread else "")),
        ("cores busy", fmt.threads(row.get("cpu_util"))),
        ("batch ms p50", fmt.ms(row["batch_p50_ms"])),
        ("batch ms p95 / p99", " / ".join(fmt.percentile(row[f"batch_p{p}_ms"], batches, p, PERCENTILE_MIN_BATCHES[p])
                                          for p in (95, 99))),
        ("batches timed", fmt.number(batches)),
        ("build (train + add)", f"{fmt.seconds(row['build_s'])} ({fmt.seconds(row['train_s'])} + {fmt.seconds(row['add_s'])})"),
        ("index size", fmt.megabytes(row["index_bytes"])),
        ("bytes / vector", fmt.per_vector(row.get("bytes_per_vector"))),
        ("memory growth (build)", fmt.megabytes(row["memory_bytes"])),
        ("peak RSS build / search", " / ".join(fmt.megabytes(row.get(c)) for c in ("peak_rss_build_bytes",
                                                                                    "peak_rss_search_bytes"))),
        ("RSS growth while searching", fmt.megabytes(row.get("search_rss_growth_bytes"))),
        ("distances / query", fmt.number(row["ndis_per_query"])),
        ("retrieval quality", quality_text(row) or "–"),
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

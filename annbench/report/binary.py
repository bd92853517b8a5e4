"""Binary codes beside float indexes, judged by one truth: the float (cosine) truth.

A binary dataset gets its own section (judged by its Hamming truth); here its
points also join the section of the float dataset its codes were made from, so a
reader sees what a code length costs in recall against the float search, and
what it saves in bytes per vector.
"""

from __future__ import annotations

import pandas as pd

from annbench.report import fmt, spec
from annbench.report.pareto import pareto_mask
from annbench.report.recommend import series_name
from annbench.report.tradeoff import bytes_chart
from annbench.results.float_truth import FLOAT_TRUTH, bytes_label, float_truth_rows

MARKERS = ("triangle", "diamond", "square")


def combined_rows(ok: pd.DataFrame) -> pd.DataFrame:
    """Float rows of every parent dataset and its binary rows (index ``bin_hnsw · sign512``)."""
    rows = float_truth_rows(ok)
    if rows.empty:
        return rows
    base = rows["index"].str.split(" · ").str[0]
    return rows.assign(base_index=base, rerank=pd.to_numeric(rows["rerank"], errors="coerce").fillna(0)
                       if "rerank" in rows else 0.0)


def _info(row: pd.Series) -> list[list[str]]:
    extra = [["bytes / vector", bytes_label(row) or "–"]]
    if pd.notna(row["code"]):
        extra.append(["re-rank depth", fmt.number(int(row["rerank"]))])
    return spec.point_info(row, FLOAT_TRUTH) + extra


def _series(rows: pd.DataFrame, colors: dict[str, str]):
    """(name, color, dash, marker, part): float indexes first, then each binary code x index."""
    codes = sorted(c for c in rows["code"].dropna().unique())
    floats = rows[rows["code"].isna()]
    for (index, device), part in floats.groupby(["index", "device"], sort=True):
        yield series_name(index, device), colors.get(index, "#8a8f98"), device != "cpu", "circle", part
    for (code, index, device), part in rows[rows["code"].notna()].groupby(["code", "index", "device"], sort=True):
        base = part["base_index"].iloc[0]
        yield (series_name(index, device), colors.get(base, "#8a8f98"), True,
               MARKERS[codes.index(code) % len(MARKERS)], part)


def recall_qps_chart(rows: pd.DataFrame, nq: int, colors: dict[str, str], cid: str) -> dict | None:
    rows = rows[(rows["nq"] == nq) & rows[FLOAT_TRUTH].notna() & rows["qps"].notna()]
    out = []
    for name, color, dash, marker, part in _series(rows, colors):
        part = part.sort_values("id", kind="mergesort")
        on = pareto_mask(part[FLOAT_TRUTH].to_numpy(), part["qps"].to_numpy())
        pts = sorted(zip(on, (r for _, r in part.iterrows())), key=lambda t: (t[1][FLOAT_TRUTH], -t[1]["qps"]))
        out.append(spec.series(name, color, [spec.point(r[FLOAT_TRUTH], r["qps"], _info(r), faded=not flag,
                                                                        spread=spec.qps_spread(r))
                                             for flag, r in pts], line="frontier", dash=dash, marker=marker))
    if not out:
        return None
    return spec.chart(cid, "scatter", f"Recall against the float truth vs QPS, nq={nq:,}",
                      f"{fmt.batch_words(nq)}; dashed: binary codes (index · code), re-rank settings as points",
                      spec.axis(spec.RECALL_NAMES[FLOAT_TRUTH], top=1.0), spec.axis("queries per second", log=True), out)


def memory_chart(rows: pd.DataFrame, colors: dict[str, str], cid: str) -> dict | None:
    """Per series and per bytes per vector (codes alone, codes + float for re-rank): the best recall reached."""
    series = ((name, color, marker, part) for name, color, _, marker, part in _series(rows, colors))
    return bytes_chart(series, FLOAT_TRUTH, cid, "Recall against the float truth vs bytes per vector",
                       "best recall per index and memory cost (index bytes / n; re-rank adds the float vector)",
                       info=lambda r, _: _info(r))


def section_charts(combined: pd.DataFrame, dataset: str, query_set: str, k: int | None,
                   colors: dict[str, str], gid: str) -> list[dict]:
    """The float-truth charts of a float dataset's section; none when no binary codes were made from it."""
    if combined.empty:
        return []
    rows = combined[(combined["dataset"] == dataset) & (combined["query_set"] == query_set)]
    if k is not None:
        rows = rows[rows["k"] == k]
    binary = rows[rows["code"].notna()]
    if binary.empty:
        return []
    charts = [recall_qps_chart(rows, nq, colors, f"{gid}-float-truth-qps-nq{nq}")
              for nq in sorted({int(v) for v in binary["nq"].dropna()})]
    charts.append(memory_chart(rows, colors, f"{gid}-float-truth-bytes"))
    return [c for c in charts if c is not None]

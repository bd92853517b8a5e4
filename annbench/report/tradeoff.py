"""Recall vs QPS charts: the trade-off every index is judged by.

Each index (per device) is one series: its Pareto frontier is drawn as a line
and its dominated points are faded, since nobody should pick those.
"""

from __future__ import annotations

import pandas as pd

from annbench.report import fmt, spec
from annbench.report.pareto import frontier, pareto_mask
from annbench.report.recommend import series_name
from annbench.results.select import total_bytes_per_vector

MARKERS = ("circle", "triangle", "diamond", "square")


def _by_series(df: pd.DataFrame):
    """(index, device) groups in a stable order: CPU before GPU, names alphabetical."""
    for (index, device), part in df.groupby(["index", "device"], sort=True):
        yield index, device, part.sort_values("id", kind="mergesort")


def _points(part: pd.DataFrame, recall_col: str, only_frontier: bool = False) -> list[dict]:
    on = pareto_mask(part[recall_col].to_numpy(), part["qps"].to_numpy())
    rows = [(row, flag) for (_, row), flag in zip(part.iterrows(), on) if flag or not only_frontier]
    rows.sort(key=lambda item: (item[0][recall_col], -item[0]["qps"]))
    return [spec.point(r[recall_col], r["qps"], spec.point_info(r, recall_col), faded=not flag,
                       spread=spec.qps_spread(r)) for r, flag in rows]


def recall_qps_chart(df: pd.DataFrame, nq: int, recall_col: str, colors: dict[str, str], cid: str) -> dict:
    """All points of one dataset/query set at batch size ``nq``; frontier lines per index."""
    df = df[(df["nq"] == nq) & df[recall_col].notna() & df["qps"].notna()]
    out = []
    for index, device, part in _by_series(df):
        out.append(spec.series(series_name(index, device), colors[index], _points(part, recall_col),
                               line="frontier", dash=device != "cpu",
                               marker="square" if device != "cpu" else "circle"))
    return spec.chart(cid, "scatter", f"Recall vs QPS, nq={nq:,}",
                      f"{fmt.batch_words(nq)}; lines: each index's Pareto frontier, faded: dominated settings; "
                      "bars: QPS min–max over the rounds",
                      spec.axis(spec.RECALL_NAMES[recall_col], top=1.0), spec.axis("queries per second", log=True), out)


def bytes_chart(series, recall_col: str, cid: str, title: str, subtitle: str, info=None) -> dict | None:
    """Best recall per index and memory cost: x the bytes each vector costs (index bytes / n, plus the
    float vector a re-rank keeps), one point per distinct cost, the highest recall reached at it.

    ``series``: ``(name, color, marker, rows)``. Recall hardly depends on the batch size, so every nq
    counts (the tooltip names the point's).
    """
    out = []
    for name, color, marker, part in series:
        part = part.assign(_bytes=total_bytes_per_vector(part))
        part = part[part[recall_col].notna() & part["_bytes"].notna()]
        if part.empty:
            continue
        best = part.sort_values([recall_col, "qps", "id"], ascending=[False, False, True], kind="mergesort")
        best = best.drop_duplicates("_bytes").sort_values("_bytes")
        pts = [spec.point(r["_bytes"], r[recall_col], (info or spec.point_info)(r, recall_col))
               for _, r in best.iterrows()]
        out.append(spec.series(name, color, pts, marker=marker))
    if not out:
        return None
    return spec.chart(cid, "scatter", title, subtitle, spec.axis("bytes per vector", log=True),
                      spec.axis(spec.RECALL_NAMES[recall_col], top=1.0), out)


def recall_bytes_chart(df: pd.DataFrame, recall_col: str, colors: dict[str, str], cid: str) -> dict | None:
    """Every index of a section on one axis of memory: what recall each byte per vector buys."""
    series = ((series_name(index, device), colors[index], "square" if device != "cpu" else "circle", part)
              for index, device, part in _by_series(df))
    return bytes_chart(series, recall_col, cid, "Recall vs bytes per vector",
                       "bytes each base vector costs in the index (serialised size / n); best recall at each cost")


def query_set_chart(df: pd.DataFrame, recall_col: str, colors: dict[str, str], cid: str) -> dict | None:
    """Frontiers of every query set of one dataset on one chart (text→image vs image→image).

    Each query set is taken at its own largest nq; only frontier points are drawn, to stay legible.
    """
    sets = sorted(df["query_set"].unique())
    if len(sets) < 2:
        return None
    out, names = [], []
    for n, qset in enumerate(sets):
        part = df[df["query_set"] == qset]
        nq = int(part["nq"].max())
        part = part[(part["nq"] == nq) & part[recall_col].notna() & part["qps"].notna()]
        modality = part["modality"].dropna()
        names.append(f"{qset} ({modality.iloc[0]} queries)" if len(modality) and modality.iloc[0] != qset else qset)
        for index, device, series_part in _by_series(part):
            pts = _points(series_part, recall_col, only_frontier=True)
            out.append(spec.series(f"{series_name(index, device)} · {qset}", colors[index], pts, line="frontier",
                                   dash=n > 0, marker=MARKERS[n % len(MARKERS)]))
    title = "Query sets compared on the same base: " + " vs ".join(sets)
    return spec.chart(cid, "scatter", title,
                      "Pareto frontiers per index; " + ", ".join(names) + "; each at its largest nq",
                      spec.axis(spec.RECALL_NAMES[recall_col], top=1.0), spec.axis("queries per second", log=True), out)


def frontier_table(df: pd.DataFrame, recall_col: str) -> pd.DataFrame:
    """Frontier rows of every series (index, device) at each nq: the golden-tested frontier data."""
    parts = []
    for (nq, index, device), part in df.groupby(["nq", "index", "device"], sort=True):
        on = frontier(part[part[recall_col].notna() & part["qps"].notna()], recall_col)
        parts.append(on[["nq", "index", "device", "build_label", "search_label", recall_col, "qps"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

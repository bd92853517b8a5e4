"""HTML tables: best per recall target, every raw point, failures.

Every value from the data goes through :mod:`markup` (escaped); numbers are
formatted by :mod:`fmt`; raw values ride along in ``data-v`` for sorting.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from annbench.report import fmt
from annbench.report.cards import dot as _dot, known as _known, setting as _setting
from annbench.report.markup import esc, tag
from annbench.report.recommend import series_name
from annbench.report.spec import RECALL_NAMES
from annbench.results.schema import PERCENTILE_MIN_BATCHES
from annbench.results.select import tie_state


def best_table(best: pd.DataFrame, colors: dict[str, str]) -> str:
    """Fastest configuration per recall target: overall first (with its runner-up), then each index."""
    several = best[["device", "threads"]].drop_duplicates().shape[0] > 1
    head = "".join(f"<th>{h}</th>" for h in ("recall target", "index", "setting", "recall", "QPS (min–max of rounds)",
                                                "cores busy", "ms / batch", "bytes / vector", "index size", "build"))
    body = []
    for _, r in best.iterrows():
        group = f" · {esc(r['device'])}, {esc(fmt.number(r['threads']))} thr." if several else ""
        first = f"<td>≥ {r['target']:g}{group}</td>" if r["scope"] == "overall" else "<td></td>"
        scope = "<b>overall</b>" if r["scope"] == "overall" else _dot(colors.get(r["index"] or "", "#888")) + esc(r["scope"])
        if not r["reached"]:
            cells = f'<td colspan="9" class="muted">not reached (best recall {esc(fmt.recall(r["recall"]))})</td>'
        else:
            who = f"{_dot(colors.get(r['index'], '#888'))}{esc(series_name(r['index'], r['device']))}: " if r["scope"] == "overall" else ""
            spread = fmt.qps_range(r["qps_min"], r["qps_max"])
            tie = ' <span class="tie">tie within noise</span>' if r["scope"] == "overall" and tie_state(r["tie"]) else ""
            cells = "".join(f"<td>{c}</td>" for c in (
                who + f"<code>{esc(_setting(r['build_label'], r['search_label']))}</code>"
                + (f'<br><small class="quality">{esc(r["quality"])}</small>' if isinstance(r.get("quality"), str) else ""),
                esc(fmt.recall(r["recall"])),
                esc(fmt.qps(r["qps"])) + (f' <span class="muted">({esc(spread)})</span>' if spread else "") + tie,
                esc(fmt.threads(r["cpu_util"])), esc(fmt.ms(r["batch_p50_ms"])), esc(fmt.per_vector(r["bytes_per_vector"])),
                esc(fmt.megabytes(r["index_mb"] * fmt.MB if _known(r["index_mb"]) else None)),
                esc(fmt.seconds(r["build_s"]))))
        cls = "overall" if r["scope"] == "overall" else None
        body.append(tag("tr", first + f"<td>{scope}</td>" + cells, class_=cls))
    return f'<table class="best"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _raw_columns(recall_col: str) -> list[tuple[str, str, Callable]]:
    others = [c for c in RECALL_NAMES if c != recall_col]
    return ([("dataset", "dataset", str), ("query_set", "query set", str), ("index", "index", str),
             ("device", "device", str), ("build_label", "build", str), ("search_label", "search", str),
             ("nq", "nq", fmt.number), ("k", "k", fmt.number), ("threads", "threads given", fmt.number),
             ("status", "status", str), (recall_col, RECALL_NAMES[recall_col], fmt.recall)]
            + [(c, RECALL_NAMES[c], fmt.recall) for c in others]
            + [("qps", "QPS (median)", fmt.qps), ("qps_min", "QPS min", fmt.qps), ("qps_max", "QPS max", fmt.qps),
               ("cpu_util", "cores busy", fmt.threads), ("batch_p50_ms", "p50 ms", fmt.ms),
               ("batch_p95_ms", "p95 ms", None), ("batch_p99_ms", "p99 ms", None),
               ("batches_timed", "batches timed", fmt.number), ("train_s", "train", fmt.seconds),
               ("add_s", "add", fmt.seconds), ("build_s", "build", fmt.seconds),
               ("index_bytes", "index size", fmt.megabytes), ("bytes_per_vector", "bytes/vector", fmt.per_vector),
               ("memory_bytes", "memory growth", fmt.megabytes), ("peak_rss_build_bytes", "peak RSS build", fmt.megabytes),
               ("peak_rss_search_bytes", "peak RSS search", fmt.megabytes),
               ("ndis_per_query", "dist./query", fmt.number), ("environment", "environment", str),
               ("run_id", "run", str)])


def _cell(r: pd.Series, col: str, f: Callable | None) -> str:
    if f is None:  # a tail percentile: say when too few batches were timed to give it
        p = int(col[len("batch_p"):-len("_ms")])
        return fmt.percentile(r[col], r["batches_timed"], p, PERCENTILE_MIN_BATCHES[p]) if r["status"] == "ok" else ""
    return "" if r[col] is None else f(r[col])


def _sort_value(value) -> str:
    return str(value) if _known(value) else ""


def results_table(records: pd.DataFrame, recall_col: str, table_id: str = "raw-table") -> str:
    """Every point, ok or not, sortable by clicking a header (assets/report.js)."""
    cols = _raw_columns(recall_col)
    head = "".join(f'<th scope="col" tabindex="0">{esc(title)}</th>' for _, title, _ in cols)
    order = records.sort_values(["dataset", "query_set", "index", "device", "build_label", "search_label", "nq"],
                                kind="mergesort")
    rows = []
    for _, r in order.iterrows():
        cells = "".join(tag("td", esc(_cell(r, c, f)), data_v=_sort_value(r[c])) for c, _, f in cols)
        rows.append(tag("tr", cells, class_=None if r["status"] == "ok" else f"bad {r['status']}"))
    return (f'<div class="scroll"><table class="raw sortable" id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def failures_table(not_ok: pd.DataFrame) -> str:
    """Failed and skipped points with the reason the runner gave."""
    head = "".join(f"<th>{h}</th>" for h in ("status", "dataset · query set", "index", "device", "setting", "nq", "reason"))
    rows = []
    for _, r in not_ok.sort_values(["status", "dataset", "query_set", "index"], kind="mergesort").iterrows():
        cells = (esc(r["status"]), esc(f"{r['dataset']} · {r['query_set']}"), esc(r["index"]), esc(r["device"]),
                 f"<code>{esc(_setting(r['build_label'], r['search_label']))}</code>", esc(fmt.number(r["nq"])),
                 esc(r["reason"] or "no reason recorded"))
        rows.append(tag("tr", "".join(f"<td>{c}</td>" for c in cells), class_=str(r["status"])))
    return f'<table class="failures"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'

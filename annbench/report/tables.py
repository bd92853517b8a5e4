"""HTML tables: the headline recommendation, best per recall target, every raw point, failures.

Every value from the data goes through :mod:`markup` (escaped); numbers are
formatted by :mod:`fmt`; raw values ride along in ``data-v`` for sorting.
"""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from annbench.report import fmt
from annbench.report.markup import esc, tag
from annbench.report.recommend import series_name
from annbench.report.spec import RECALL_NAMES


DEFAULT = "default settings"


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _dot(color: str) -> str:
    return tag("span", "", class_="dot", style=f"--c:{color}")


def _setting(build: str | None, search: str | None) -> str:
    parts = [p for p in (build, search) if p and p != "-"]
    return " · ".join(parts) or DEFAULT


def _pick_sentence(row: pd.Series, target: float, colors: dict[str, str]) -> str:
    if not row["reached"]:
        return (f'<p class="pick none">nothing reaches {target:g}'
                f' <span class="muted">(best recall {esc(fmt.recall(row["recall"]))})</span></p>')
    use = f'use {_dot(colors.get(row["index"], "#888"))}<b>{esc(series_name(row["index"], row["device"]))}</b>'
    setting = _setting(row["build_label"], row["search_label"])
    with_setting = "" if setting == DEFAULT else f" with <code>{esc(setting)}</code>"
    size = next((fmt.megabytes(row[c] * fmt.MB) for c in ("index_mb", "memory_mb") if _known(row[c])), "size unknown")
    return (f'<p class="pick">{use}{with_setting}</p>'
            f'<p class="figures"><b>{esc(fmt.qps(row["qps"]))}</b> QPS · {esc(size)} · '
            f'{esc(fmt.seconds(row["build_s"]))} build</p>'
            f'<p class="muted">measured recall {esc(fmt.recall(row["recall"]))}</p>')


def headline(best: dict[int, pd.DataFrame], colors: dict[str, str]) -> str:
    """Cards "recall ≥ T: use X with Y at Z QPS, N MB, T s build" for the largest nq (nq=1 beneath)."""
    nqs = list(best)
    main = best[nqs[0]]
    small = best[nqs[1]] if len(nqs) > 1 else None
    cards = []
    for target, rows in main[main["scope"] == "overall"].groupby("target", sort=True):
        row = rows.iloc[0]
        body = tag("div", f"recall ≥ {target:g}", class_="target") + _pick_sentence(row, target, colors)
        if small is not None:
            alt = small[(small["scope"] == "overall") & (small["target"] == target)]
            if len(alt) and alt.iloc[0]["reached"]:
                a = alt.iloc[0]
                setting = _setting(a["build_label"], a["search_label"])
                body += (f'<p class="alt">{fmt.batch_words(nqs[1])}: {esc(series_name(a["index"], a["device"]))}'
                         f'{"" if setting == DEFAULT else " " + esc(setting)}, {esc(fmt.qps(a["qps"]))} QPS</p>')
        cards.append(tag("div", body, class_="card" + ("" if row["reached"] else " unreached")))
    return tag("div", "".join(cards), class_="cards")


def best_table(best: pd.DataFrame, colors: dict[str, str]) -> str:
    """Fastest configuration per recall target: overall first, then each index."""
    head = "".join(f"<th>{h}</th>" for h in ("recall target", "index", "setting", "recall", "QPS",
                                                "ms / batch", "index size", "memory", "build"))
    body = []
    for _, r in best.iterrows():
        first = f"<td>≥ {r['target']:g}</td>" if r["scope"] == "overall" else "<td></td>"
        scope = "<b>overall</b>" if r["scope"] == "overall" else _dot(colors.get(r["index"] or "", "#888")) + esc(r["scope"])
        if not r["reached"]:
            cells = f'<td colspan="7" class="muted">not reached (best recall {esc(fmt.recall(r["recall"]))})</td>'
        else:
            who = f"{_dot(colors.get(r['index'], '#888'))}{esc(series_name(r['index'], r['device']))}: " if r["scope"] == "overall" else ""
            cells = "".join(f"<td>{c}</td>" for c in (
                who + f"<code>{esc(_setting(r['build_label'], r['search_label']))}</code>", esc(fmt.recall(r["recall"])),
                esc(fmt.qps(r["qps"])), esc(fmt.ms(r["batch_p50_ms"])),
                esc(fmt.megabytes(r["index_mb"] * fmt.MB if _known(r["index_mb"]) else None)),
                esc(fmt.megabytes(r["memory_mb"] * fmt.MB if _known(r["memory_mb"]) else None)),
                esc(fmt.seconds(r["build_s"]))))
        cls = "overall" if r["scope"] == "overall" else None
        body.append(tag("tr", first + f"<td>{scope}</td>" + cells, class_=cls))
    return f'<table class="best"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _raw_columns(recall_col: str) -> list[tuple[str, str, Callable]]:
    others = [c for c in RECALL_NAMES if c != recall_col]
    return ([("dataset", "dataset", str), ("query_set", "query set", str), ("index", "index", str),
             ("device", "device", str), ("build_label", "build", str), ("search_label", "search", str),
             ("nq", "nq", fmt.number), ("k", "k", fmt.number), ("threads", "threads", fmt.number),
             ("status", "status", str), (recall_col, RECALL_NAMES[recall_col], fmt.recall)]
            + [(c, RECALL_NAMES[c], fmt.recall) for c in others]
            + [("qps", "QPS", fmt.qps), ("batch_p50_ms", "p50 ms", fmt.ms), ("batch_p95_ms", "p95 ms", fmt.ms),
               ("batch_p99_ms", "p99 ms", fmt.ms), ("train_s", "train", fmt.seconds), ("add_s", "add", fmt.seconds),
               ("build_s", "build", fmt.seconds), ("index_bytes", "index size", fmt.megabytes),
               ("bytes_per_vector", "bytes/vector", fmt.number),
               ("memory_bytes", "memory", fmt.megabytes), ("ndis_per_query", "dist./query", fmt.number),
               ("run_id", "run", str)])


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
        cells = "".join(tag("td", esc("" if r[c] is None else f(r[c])), data_v=_sort_value(r[c])) for c, _, f in cols)
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

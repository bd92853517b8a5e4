"""The report's "under load" block: points timed with concurrent clients (``--clients``).

Per environment, dataset, query set, k and nq: the latency-throughput frontier,
QPS against p99 latency with one line per index through its client counts (an
index at the setting that is fastest at the fewest clients among those reaching
the recall target, else at its best recall), and a table of every point.
"""

from __future__ import annotations

import pandas as pd

from annbench.report import fmt, spec
from annbench.report.blocks import Block
from annbench.report.markup import esc
from annbench.report.spec import RECALL_NAMES
from annbench.results.select import best, best_recall

TARGET = 0.9
KEYS = ["environment", "dataset", "query_set", "k", "nq"]


def _chosen(rows: pd.DataFrame, recall_col: str) -> pd.DataFrame:
    """Per index, the build and search setting its line follows."""
    fewest = rows[rows["clients"] == rows["clients"].min()]
    picked = best(fewest, TARGET, recall_col, per=["index"])
    missing = sorted(set(fewest["index"]) - set(picked["index"]))
    if missing:
        tops = best_recall(fewest[fewest["index"].isin(missing)], recall_col, ["index"])
        picked = pd.concat([picked, tops], ignore_index=True)
    return picked[["index", "build_label", "search_label", recall_col]]


def _info(r: pd.Series, recall_col: str) -> list[list[str]]:
    return [["index", r["index"]], ["setting", f"{r['build_label']} · {r['search_label']}"],
            ["clients", fmt.number(r["clients"])], ["QPS (median of rounds)", fmt.qps(r["qps"])],
            ["batch ms p50 / p99", f"{fmt.ms(r['batch_p50_ms'])} / {fmt.ms(r['batch_p99_ms'])}"],
            ["cores busy", fmt.threads(r.get("cpu_util"))], [RECALL_NAMES[recall_col], fmt.recall(r[recall_col])]]


def _frontier(rows: pd.DataFrame, recall_col: str, colors: dict[str, str], cid: str) -> dict | None:
    series = []
    for _, pick in _chosen(rows, recall_col).sort_values("index").iterrows():
        line = rows[(rows["index"] == pick["index"]) & (rows["build_label"] == pick["build_label"])
                    & (rows["search_label"] == pick["search_label"]) & rows["batch_p99_ms"].notna()]
        pts = [spec.point(r["qps"], r["batch_p99_ms"], _info(r, recall_col))
               for _, r in line.sort_values("clients").iterrows()]
        if pts:
            name = f"{pick['index']} ({pick['search_label']}, recall {fmt.recall(pick[recall_col])})"
            series.append(spec.series(name, colors.get(pick["index"], "#888"), pts, line="all"))
    if not series:
        return None
    return spec.chart(cid, "line", "Throughput vs p99 latency under load",
                      f"each index through its client counts at one setting: the fastest at recall ≥ {TARGET:g} "
                      "(else its best recall)",
                      spec.axis("queries per second (all clients)", log=True), spec.axis("p99 batch latency (ms)", log=True),
                      series)


def _table(rows: pd.DataFrame, recall_col: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("index", "setting", "clients", "QPS (min–max)", "p50 ms", "p95 ms",
                                              "p99 ms", "cores busy", RECALL_NAMES[recall_col]))
    body = ""
    order = rows.sort_values(["index", "build_label", "search_label", "clients"])
    for _, r in order.iterrows():
        spread = fmt.qps_range(r.get("qps_min"), r.get("qps_max"))
        cells = (r["index"], f"{r['build_label']} · {r['search_label']}", fmt.number(r["clients"]),
                 fmt.qps(r["qps"]) + (f" ({spread})" if spread else ""), fmt.ms(r["batch_p50_ms"]),
                 fmt.ms(r["batch_p95_ms"]), fmt.ms(r["batch_p99_ms"]), fmt.threads(r.get("cpu_util")),
                 fmt.recall(r[recall_col]))
        body += "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>"
    return f'<div class="scroll"><table class="best"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def under_load_blocks(rows: pd.DataFrame, recall_col: str, colors: dict[str, str]) -> list[Block]:
    rows = rows[rows[recall_col].notna() & rows["qps"].notna()]
    blocks = []
    for (env, dataset, query_set, k, nq), part in rows.groupby(KEYS, sort=True):
        anchor = spec.slug(f"load-{dataset}-{query_set}-k{k}-nq{nq}" + (f"-{env}" if env else ""))
        title = f"{dataset} · {query_set} · under load (nq={int(nq):,}, k={int(k)})" + (f" · {env}" if env else "")
        modes = ", ".join(sorted(part["clients_mode"].dropna().unique())) if "clients_mode" in part else ""
        intro = (f"Concurrent clients, each issuing batches of {int(nq):,} queries single-threaded for the round's "
                 f"time ({esc(modes) or 'processes'}); QPS counts every client's queries over the wall time, latency "
                 "percentiles pool every client's batches: what a caller sees under that load.")
        block = Block(title, anchor, f"Under load: {dataset} · {query_set}", intro)
        chart = _frontier(part, recall_col, colors, f"{anchor}-frontier")
        block.charts = [chart] if chart else []
        block.table = _table(part, recall_col)
        blocks.append(block)
    return blocks

"""The report's "Filtered search" block: points measured on the rows a filter passes.

Per dataset, query set and the largest nq: recall and QPS against the passing fraction
(log x), one line per index at its most accurate search setting (the one of highest mean
recall over the selectivities), so that one line is one fixed configuration, as a
product would deploy it: graph indexes lose recall as the passing rows thin out, while
IVF and flat keep it (and a post-filtered index spends its time on rows it throws away).
A third chart gives each index's best QPS at recall >= 0.9 at each selectivity, whatever
setting reaches it. Lines join the seeded filters (random rows); expression filters on
stored attributes (correlated rows) are listed in the table only.
"""

from __future__ import annotations

import pandas as pd

from annbench.data.filters import TAG
from annbench.report import fmt, spec
from annbench.report.blocks import Block
from annbench.report.markup import esc, tag
from annbench.report.recommend import series_name
from annbench.results.summary import counted

TARGET = 0.9
GROUP = ["environment", "dataset", "query_set", "k", "threads", "clients"]  # never mixed on one axis


def _prepared(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    for col in ("filter", "filter_selectivity", "filter_method"):
        if col not in rows:
            rows[col] = None
    rows["filter_selectivity"] = pd.to_numeric(rows["filter_selectivity"], errors="coerce")
    rows["seeded"] = [isinstance(f, dict) and f.get("attribute") == TAG for f in rows["filter"]]
    rows["series"] = [f"{series_name(i, d)} {b}".replace(" -", "") for i, d, b in
                      zip(rows["index"], rows["device"], rows["build_label"])]
    if "environment" not in rows:
        rows["environment"] = ""
    return rows[rows["filter_selectivity"].notna()]


def _most_accurate(rows: pd.DataFrame, recall_col: str) -> pd.DataFrame:
    """Per series, the points of its search setting of highest mean recall (then highest mean QPS)."""
    keep = []
    for _, part in rows.groupby("series", sort=True):
        means = part.groupby("search_label")[[recall_col, "qps"]].mean()
        best = means.sort_values([recall_col, "qps"], ascending=False).index[0]
        keep.append(part[part["search_label"] == best])
    return pd.concat(keep) if keep else rows


def _info(r: pd.Series, recall_col: str) -> list[list[str]]:
    return [["index", r["series"]], ["search", r["search_label"]], ["filter", r["filter_label"]],
            ["selectivity", f"{r['filter_selectivity']:.4g}"], ["filtered by", str(r["filter_method"] or "–")],
            [spec.RECALL_NAMES[recall_col], fmt.recall(r[recall_col])], ["QPS", fmt.qps(r["qps"])]]


def _chart(rows: pd.DataFrame, column: str, recall_col: str, colors: dict, cid: str, title: str, subtitle: str,
           y: dict) -> dict | None:
    series = []
    for name, part in rows.groupby("series", sort=True):
        part = part.sort_values("filter_selectivity")
        pts = [spec.point(r["filter_selectivity"], r[column], _info(r, recall_col),
                          spread=spec.qps_spread(r) if column == "qps" else None) for _, r in part.iterrows()]
        series.append(spec.series(name, colors.get(part["index"].iloc[0], "#888"), pts, line="all"))
    if not series:
        return None
    x = spec.axis("selectivity (fraction of the base that passes)", log=True)
    return spec.chart(cid, "line", title, subtitle, x, y, series)


def _best_at_target(rows: pd.DataFrame, recall_col: str) -> pd.DataFrame:
    """Per series and selectivity, the fastest point reaching recall >= TARGET."""
    reached = rows[rows[recall_col] >= TARGET]
    if reached.empty:
        return reached
    return reached.sort_values("qps", ascending=False).drop_duplicates(["series", "filter_selectivity"])


def _table(rows: pd.DataFrame, recall_col: str) -> str:
    """Every filter and index: how it filtered, and its most accurate setting's recall and QPS."""
    head = "".join(f"<th>{h}</th>" for h in ("filter", "selectivity", "index", "filtered by", "search",
                                             spec.RECALL_NAMES[recall_col], "QPS"))
    body = "".join(
        "<tr>" + "".join(tag("td", v) for v in (
            esc(r["filter_label"]), f"{r['filter_selectivity']:.4g}", esc(r["series"]),
            esc(r["filter_method"] or "–"), f"<code>{esc(r['search_label'])}</code>",
            fmt.recall(r[recall_col]), fmt.qps(r["qps"]))) + "</tr>"
        for _, r in rows.sort_values(["filter_selectivity", "filter_label", "series"]).iterrows())
    return tag("h3", "Every filter, each index at its most accurate setting") + \
        f'<div class="scroll"><table class="best"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


INTRO = ("Searches restricted to the rows a filter passes, judged against the exact top-k of those rows only. "
         "Recall and QPS against selectivity: each index at its most accurate search setting, one line per build. "
         "Graph indexes (HNSW) lose recall as the passing rows thin out; an index searched without a filter of its "
         "own is post-filtered (searched deeper, refused rows dropped), which the table's “filtered by” says.")


def filtered_blocks(rows: pd.DataFrame, recall_col: str, colors: dict[str, str]) -> list[Block]:
    """One block per dataset, query set, k, thread count and load (and environment) with filtered points."""
    rows = _prepared(rows)
    several = {c: rows[c].nunique() > 1 for c in ("k", "threads", "clients")}
    blocks = []
    for (env, dataset, query_set, k, threads, clients), part in rows.groupby(GROUP, sort=True):
        nq = int(part["nq"].max())
        part = part[part["nq"] == nq]
        apart = ((f" · {counted(threads, 'thread')}" if several["threads"] else "")
                 + (f" · {counted(clients, 'concurrent client')}" if clients else ""))
        anchor = spec.slug(f"filtered-{dataset}-{query_set}" + (f"-k{int(k)}" if several["k"] else "")
                           + (f"-t{int(threads)}" if several["threads"] else "") + (f"-c{int(clients)}" if clients else "")
                           + (f"-{env}" if env else ""))
        where = f"{dataset} · {query_set} · nq={nq:,} · k={int(k)}{apart}" + (f" · {env}" if env else "")
        accurate = _most_accurate(part, recall_col)
        seeded = accurate[accurate["seeded"]]
        charts = [
            _chart(seeded, recall_col, recall_col, colors, f"{anchor}-recall", "Recall vs selectivity",
                   "each index at its most accurate setting", spec.axis(spec.RECALL_NAMES[recall_col], top=1.0)),
            _chart(seeded, "qps", recall_col, colors, f"{anchor}-qps", "QPS vs selectivity",
                   "the same settings", spec.axis("queries per second", log=True)),
            _chart(_best_at_target(part[part["seeded"]], recall_col), "qps", recall_col, colors, f"{anchor}-target",
                   f"Best QPS at recall ≥ {TARGET:g} vs selectivity",
                   "the fastest setting reaching the target at each selectivity; a missing point: none reached it",
                   spec.axis("queries per second", log=True)),
        ]
        blocks.append(Block(f"Filtered search · {where}", anchor, f"Filtered: {dataset} · {query_set}", INTRO,
                            [c for c in charts if c is not None], _table(accurate, recall_col)))
    return blocks

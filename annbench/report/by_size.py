"""The report's "answer as a function of n" block, for results of ``annbench scale``.

Per scale family (one source base swept at several n), query set and the
largest nq: best QPS at a recall target against n (log-log), one line per
index, the crossovers named in the subtitle; build time and index size
against n per build setting; and a table of the best setting at each n, which
shows how nlist/nprobe or ef must grow with n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from annbench.report import fmt, spec
from annbench.report.markup import esc, tag
from annbench.results.by_size import best_by_size, crossovers, describe_crossover, families

TARGETS = (0.9, 0.95)


@dataclass
class SizeBlock:
    title: str
    anchor: str
    charts: list[dict] = field(default_factory=list)
    table: str = ""


def _qps_chart(table: pd.DataFrame, target: float, colors: dict[str, str], cid: str) -> dict | None:
    if table.empty:
        return None
    series = []
    for index, part in table.groupby("index", sort=True):
        pts = [spec.point(r["n"], r["qps"], [["index", index], ["n", fmt.number(r["n"])],
                                             ["setting", f"{r['build_label']} · {r['search_label']}"],
                                             ["QPS", fmt.qps(r["qps"])], ["recall", fmt.recall(r["recall"])]],
                          spread=(r["qps_min"], r["qps_max"])) for _, r in part.sort_values("n").iterrows()]
        series.append(spec.series(index, colors.get(index, "#888"), pts, line="all"))
    notes = "; ".join(describe_crossover(c) for c in crossovers(table))
    return spec.chart(cid, "line", f"Best QPS at recall ≥ {target:g} vs n",
                      "each index at its fastest setting reaching the target at that n" + (f". {notes}" if notes else ""),
                      spec.axis("n (base vectors)", log=True), spec.axis("queries per second", log=True), series)


def _cost_chart(rows: pd.DataFrame, column: str, title: str, unit: str, scale: float, colors: dict[str, str],
                cid: str) -> dict | None:
    rows = rows[rows[column].notna()].drop_duplicates(["index", "build_label", "nb"])
    if rows.empty:
        return None
    series = []
    for (index, build), part in rows.groupby(["index", "build_label"], sort=True):
        pts = [spec.point(r["nb"], r[column] / scale, [["index", index], ["build", build], ["n", fmt.number(r["nb"])],
                                                        [title, f"{r[column] / scale:.3g} {unit}"]])
               for _, r in part.sort_values("nb").iterrows()]
        name = index if build == "-" else f"{index} {build}"
        series.append(spec.series(name, colors.get(index, "#888"), pts, line="all"))
    return spec.chart(cid, "line", f"{title} vs n", "one line per build setting",
                      spec.axis("n (base vectors)", log=True), spec.axis(unit, log=True), series)


def _settings_table(table: pd.DataFrame) -> str:
    wide = table.assign(setting=[f"{b} · {s}".strip(" ·-") or "default" for b, s in
                                 zip(table["build_label"], table["search_label"])])
    wide = wide.pivot_table(index="n", columns="index", values="setting", aggfunc="first").sort_index()
    head = "<th>n</th>" + "".join(f"<th>{esc(c)}</th>" for c in wide.columns)
    body = "".join("<tr>" + f"<td>{n:,}</td>" + "".join(f"<td><code>{esc('' if pd.isna(v) else v)}</code></td>"
                                                       for v in row) + "</tr>" for n, row in wide.iterrows())
    return f'<div class="scroll"><table class="best"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def size_blocks(ok: pd.DataFrame, recall_col: str, colors: dict[str, str]) -> list[SizeBlock]:
    rows = families(ok)
    if rows.empty:
        return []
    blocks = []
    for (env, family, query_set), part in rows.groupby(["environment", "scale_family", "query_set"], sort=True):
        nq = int(part["nq"].max())
        at_nq = part[part["nq"] == nq]
        anchor = spec.slug(f"scale-{family}-{query_set}" + (f"-{env}" if env else ""))
        title = f"{family} · {query_set} · as n grows (nq={nq:,})" + (f" · {env}" if env else "")
        block = SizeBlock(title, anchor)
        for target in TARGETS:
            table = best_by_size(at_nq, target, recall_col)
            chart = _qps_chart(table, target, colors, f"{anchor}-qps-{str(target).replace('.', '')}")
            if chart is not None:
                block.charts.append(chart)
                if not block.table:
                    block.table = (tag("h3", f"Fastest setting at recall ≥ {target:g} at each n") + _settings_table(table))
        builds = at_nq.drop_duplicates(["index", "build_label", "nb"])
        block.charts += [c for c in (
            _cost_chart(builds, "build_s", "Build time", "seconds", 1.0, colors, f"{anchor}-build"),
            _cost_chart(builds, "index_bytes", "Index size", "MB", fmt.MB, colors, f"{anchor}-size"),
            _cost_chart(builds, "peak_rss_build_bytes", "Peak memory of the build", "MB", fmt.MB, colors,
                        f"{anchor}-memory")) if c is not None]
        blocks.append(block)
    return blocks


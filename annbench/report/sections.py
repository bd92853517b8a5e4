"""Split the ok points into report sections and build each section's charts and tables.

A section is one environment (machine, library versions, runtime variables
and measuring rules, when results hold several), dataset, query set, k and
thread count: recall at different k, QPS on different query sets, machines or
thread counts, are never mixed on one axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from annbench.report import binary, buildcost, scaling, spec, tradeoff
from annbench.report.recommend import best_per_target
from annbench.results.summary import counted


@dataclass
class Section:
    dataset: str
    query_set: str
    k: int | None
    anchor: str
    rows: pd.DataFrame
    charts: list[dict] = field(default_factory=list)
    best: dict[int, pd.DataFrame] = field(default_factory=dict)  # nq -> best per target
    environment: str = ""      # "" when the results hold one environment
    threads: int | None = None  # None when the results hold one thread count
    difficulty: dict | None = None  # medians of the query set's difficulty measures, where known

    @property
    def title(self) -> str:
        return (f"{self.dataset} · {self.query_set}" + (f" · k={self.k}" if self.k is not None else "")
                + (f" · {counted(self.threads, 'thread')}" if self.threads is not None else "")
                + (f" · {self.environment}" if self.environment else ""))

    @property
    def nqs(self) -> list[int]:
        """The batch sizes the headline and tables use: the largest first, then the smallest."""
        values = sorted({int(v) for v in self.rows["nq"].dropna()})
        return [values[-1], values[0]] if len(values) > 1 else values


def _group_keys(ok: pd.DataFrame) -> list[tuple[str, str, str, int | None, int | None]]:
    """(environment, dataset, query set, k, threads); k and threads None where all points share one."""
    several = {c: ok[c].dropna().nunique() > 1 for c in ("k", "threads")}
    keys = ok[["environment", "dataset", "query_set", "k", "threads"]].drop_duplicates()
    out = [(e, d, q, int(k) if several["k"] and pd.notna(k) else None,
            int(t) if several["threads"] and pd.notna(t) else None) for e, d, q, k, t in keys.itertuples(index=False)]
    return sorted(set(out), key=lambda g: (g[0], g[1], g[2], g[3] or 0, g[4] or 0))


def _unique(anchor: str, used: set[str]) -> str:
    candidate, n = anchor, 2
    while candidate in used:
        candidate, n = f"{anchor}-{n}", n + 1
    used.add(candidate)
    return candidate


def _section_charts(sec: Section, recall_col: str, colors: dict[str, str]) -> list[dict]:
    df, gid = sec.rows, sec.anchor
    charts = [tradeoff.recall_qps_chart(df, nq, recall_col, colors, f"{gid}-recall-qps-nq{nq}")
              for nq in sorted(sec.nqs)]
    indexes = sorted(df["index"].unique())
    charts += [scaling.latency_chart(df, i, recall_col, colors[i], f"{gid}-latency-{spec.slug(i)}") for i in indexes]
    charts += [scaling.recall_param_chart(df, i, recall_col, colors[i], f"{gid}-recall-param-{spec.slug(i)}")
               for i in indexes]
    charts.append(buildcost.build_time_chart(df, colors, f"{gid}-build-time"))
    charts.append(buildcost.index_size_chart(df, colors, f"{gid}-index-size"))
    charts.append(tradeoff.recall_bytes_chart(df, recall_col, colors, f"{gid}-recall-bytes"))
    return [c for c in charts if c is not None]


def build_sections(ok: pd.DataFrame, recall_col: str, colors: dict[str, str]) -> list[Section]:
    """Sections in name order, each with its charts and best-per-target tables."""
    ok = ok[ok[recall_col].notna() & ok["qps"].notna() & ok["nq"].notna()]
    used: set[str] = set()
    out = []
    combined = binary.combined_rows(ok)
    for env, dataset, query_set, k, threads in _group_keys(ok):
        rows = ok[(ok["environment"] == env) & (ok["dataset"] == dataset) & (ok["query_set"] == query_set)]
        if k is not None:
            rows = rows[rows["k"] == k]
        if threads is not None:
            rows = rows[rows["threads"] == threads]
        anchor = _unique(spec.slug(f"{dataset}-{query_set}" + (f"-k{k}" if k is not None else "")
                                   + (f"-t{threads}" if threads is not None else "")), used)
        sec = Section(dataset, query_set, k, anchor, rows, environment=env, threads=threads)
        sec.charts = _section_charts(sec, recall_col, colors)
        at = len(sec.nqs)  # after the recall vs QPS charts
        env_rows = combined[combined["environment"] == env] if len(combined) else combined
        if threads is not None and len(env_rows):
            env_rows = env_rows[env_rows["threads"] == threads]
        sec.charts[at:at] = binary.section_charts(env_rows, dataset, query_set, k, colors, anchor)
        sec.best = {nq: best_per_target(rows[rows["nq"] == nq], recall_col) for nq in sec.nqs}
        out.append(sec)
    return out


def comparison_charts(sections: list[Section], recall_col: str, colors: dict[str, str]) -> list[dict]:
    """Per dataset (and k) with two or more query sets: their frontiers on one chart."""
    charts, used = [], set()
    by_base: dict[tuple, list[Section]] = {}
    for sec in sections:
        by_base.setdefault((sec.environment, sec.dataset, sec.k, sec.threads), []).append(sec)
    for (env, dataset, k, threads), secs in by_base.items():
        if len(secs) < 2:
            continue
        rows = pd.concat([s.rows for s in secs], ignore_index=True)
        cid = _unique(spec.slug(f"{dataset}" + (f"-k{k}" if k is not None else "")
                                + (f"-t{threads}" if threads is not None else "")) + "-query-sets", used)
        chart = tradeoff.query_set_chart(rows, recall_col, colors, cid)
        if chart is not None:
            chart["dataset"] = dataset
            charts.append(chart)
    return charts

"""The answer a user came for: per index, the fastest setting that reaches a recall target.

One table per comparable group (environment, dataset, query set, k, threads,
device, nq; see :mod:`annbench.results.select`, whose rule this prints), at the
smallest and the largest nq measured. Each cell gives the median QPS with its
min-max over the rounds, the parallelism that ran (process CPU time / wall
time) and the bytes each vector costs. Binary codes also get tables judged by
the float truth of their parent dataset.
"""

from __future__ import annotations

import pandas as pd

from annbench.quality import quality_text
from annbench.results.by_size import FAMILY, best_by_size, crossovers, describe_crossover
from annbench.results.crossover import apart, crossover, describe
from annbench.results.envs import runtime_label, timing_label
from annbench.results.gpu_figures import gpu_lines
from annbench.results.float_truth import FLOAT_TRUTH, bytes_label, float_truth_rows
from annbench.results.select import GROUP, Budget, best, best_over_loads, best_recall, comparable, tie_state

DEFAULT_RECALL = "recall_ties"
TARGETS = (0.9, 0.99)
KMEANS_MIN_ROWS_PER_LIST = 39  # faiss's ClusteringParameters.min_points_per_centroid: k-means warns below it


def _qps(row: pd.Series) -> str:
    """``12,345 (12,100-12,600)``: the median and the rounds' range."""
    lo, hi = row.get("qps_min"), row.get("qps_max")
    spread = f" ({lo:,.0f}-{hi:,.0f})" if pd.notna(lo) and pd.notna(hi) and lo != hi else ""
    return f"{row['qps']:,.0f}{spread}"


def counted(n, unit: str) -> str:
    """``1 thread``, ``2 threads``: a count and its unit, singular at one."""
    return f"{int(n):,} {unit}" + ("s" if int(n) != 1 else "")


def _threads(row: pd.Series) -> str:
    util = row.get("cpu_util")
    return f"{util:.1f}" if pd.notna(util) else "?"


def setting(build_label: str, search_label: str) -> str:
    """``nlist=256 nprobe=16``; ``default settings`` for an index without parameters."""
    return " ".join(p for p in (build_label, search_label) if p and p != "-") or "default settings"


def verdict(row: pd.Series, budget: Budget = Budget()) -> str:
    """``ivf_flat (12,345 QPS, nlist=256 nprobe=16); runner-up hnsw 11,900 QPS: tie within noise``."""
    p99 = row.get("batch_p99_ms")
    tail = f", p99 {p99:,.2f} ms" if row.get("clients") and isinstance(p99, float) and p99 == p99 else ""
    text = f"{row['index']} ({row['qps']:,.0f} QPS{tail}, {setting(row['build_label'], row['search_label'])})"
    if not isinstance(row.get("runner_up_index"), str):
        return text + "; no other index reaches it" + (" within the budget" if budget.describe() else "")
    margin = {True: "tie within noise (their round ranges overlap)", False: "ahead beyond the round-to-round spread",
              None: "spread unknown (one round)"}[tie_state(row["tie"])]
    return text + f"; runner-up {row['runner_up_index']} {row['runner_up_qps']:,.0f} QPS: {margin}"


def _group_tables(rows: pd.DataFrame, targets, recall: str, budget: Budget, shown_nq: set, note: str) -> list[str]:
    lines = []
    winners = {t: best(rows, t, recall, budget) for t in targets}
    per_index = {t: best(rows, t, recall, budget, per=["index"]) for t in targets}
    unbudgeted = {t: best(rows, t, recall, per=["index"]) for t in targets} if budget.describe() else per_index
    tops = best_recall(rows, recall, ["index"])
    for group, part in rows.groupby(GROUP, sort=True, dropna=False):
        env, dataset, query_set, k, threads, device, nq, clients, flt = group
        if nq not in shown_nq:
            continue
        head = f"\n{dataset} / {query_set} queries / {device} / nq={int(nq)} / k={int(k)} / {counted(threads, 'thread')}"
        head += (f" / {counted(clients, 'concurrent client')}" if clients else "") + (f" / filter {flt}" if flt else "")
        lines.append(head + f"   (recall = {recall}{note}" + (f"; budget {budget.describe()}" if budget.describe() else "")
                     + ")")
        lines += _table(part, group, targets, per_index, unbudgeted, tops)
        lines += _filter_line(part) if flt else []
        for t in targets:
            w = winners[t]
            hit = w[(w[GROUP] == pd.Series(group, index=GROUP)).all(axis=1)] if len(w) else w
            lines.append(f"  fastest at recall >= {t}: " + (verdict(hit.iloc[0], budget) if len(hit) else "none reached it"
                                                            + (" within the budget" if budget.describe() else "")))
        lines += _quality_lines(part, group, targets[0], per_index[targets[0]], tops)
    return lines


def _filter_line(part: pd.DataFrame) -> list[str]:
    """How each index kept to the filter's rows (its library's own filter, or the runner's post-filter)."""
    if "filter_method" not in part:
        return []
    how = part.dropna(subset=["filter_method"]).drop_duplicates("index").sort_values("index")
    if how.empty:
        return []
    return ["  filtered by: " + "; ".join(f"{r['index']} {r['filter_method']}" for _, r in how.iterrows())]


def _quality_lines(part: pd.DataFrame, group: tuple, target: float, chosen: pd.DataFrame, tops: pd.DataFrame
                   ) -> list[str]:
    """What users feel (paired R@k, zero-shot accuracy) through each index at its setting for the first
    target (else its most accurate setting), against exact search."""
    if "task" not in part or part["task"].isna().all():
        return []
    lines = [f"  retrieval quality through each index (its setting at recall >= {target}, else its best recall):"]
    for name in sorted(part["index"].unique()):
        for pool in (chosen, tops):
            row = pool[(pool[GROUP] == pd.Series(group, index=GROUP)).all(axis=1) & (pool["index"] == name)] \
                if len(pool) else pool
            if len(row):
                text = quality_text(row.iloc[0])
                lines.append(f"    {name}: {text}" if text else f"    {name}: -")
                break
    return lines


def _table(part: pd.DataFrame, group: tuple, targets, per_index: dict, unbudgeted: dict, tops: pd.DataFrame
           ) -> list[str]:
    def in_group(df: pd.DataFrame) -> pd.DataFrame:
        return df[(df[GROUP] == pd.Series(group, index=GROUP)).all(axis=1)].set_index("index") if len(df) else df

    names = sorted(part["index"].unique())
    cells = {name: [] for name in names}
    for t in targets:
        found, reached = in_group(per_index[t]), in_group(unbudgeted[t])
        for name in names:
            if name in found.index:
                r = found.loc[name]
                cells[name].append((_qps(r), _threads(r), setting(r["build_label"], r["search_label"]), bytes_label(r)))
            else:
                cells[name].append(("over budget" if name in reached.index else "not reached", "", "", ""))
    top = in_group(tops)
    width = max([10, *map(len, names)])
    widths = [max([18, *(len(c[i][0]) for c in cells.values())]) for i in range(len(targets))]
    swidths = [max([20, *(len(c[i][2]) for c in cells.values())]) for i in range(len(targets))]
    header = "".join(f"  {'QPS @ ' + str(t) + ' (min-max)':>{w}} {'cores':>5} {'setting':{s}} {'bytes/vector':14}"
                     for t, w, s in zip(targets, widths, swidths))
    lines = [f"  {'index':{width}}{header}  best recall (bytes/vector)"]
    for name in names:
        row = "".join(f"  {q:>{w}} {th:>5} {st:{s}} {b:14}" for (q, th, st, b), w, s in zip(cells[name], widths, swidths))
        best_r = f"{top.loc[name, 'recall_col']:.4f} ({bytes_label(top.loc[name])})" if name in top.index else ""
        lines.append(f"  {name:{width}}{row}  {best_r}")
    return lines


def _tables(df: pd.DataFrame, targets, recall: str, budget: Budget, note: str = "") -> list[str]:
    rows = comparable(df)
    rows = rows[rows[recall].notna()].assign(recall_col=rows[recall])
    if rows.empty:
        return []
    lines = []
    for env, part in rows.groupby("environment", sort=True):
        if env:
            lines.append(f"\n== environment: {env} ==")
        nqs = sorted(part["nq"].unique())
        lines += _group_tables(part, targets, recall, budget, {nqs[0], nqs[-1]}, note)
    return lines


def _provenance(rows: pd.DataFrame) -> list[str]:
    """Where the numbers come from, when they all come from one environment (else each table says)."""
    envs = rows["environment"].unique()
    if len(envs) != 1 or envs[0]:
        return [f"results from {len(envs)} environments (machines, library versions, runtime variables or "
                "measuring rules): each has its own tables below"]
    first = rows.iloc[0]
    versions = sorted({v for vs in rows["versions"] if isinstance(vs, dict) for v in vs.values()}) \
        if "versions" in rows else []
    return [f"machine: {first.get('machine_label', '?')}; libraries: {', '.join(versions) or '?'}; "
            f"{runtime_label(first.get('runtime'))}; {timing_label(first.get('timing'))}"]


def _scale_lines(df: pd.DataFrame, targets, recall: str) -> list[str]:
    """Datasets swept at several n (``annbench scale``): per index, the best QPS at each n, and crossovers."""
    lines: list[str] = []
    for t in targets:
        table = best_by_size(df, t, recall)
        if table.empty:
            continue
        if not lines:
            lines.append("\n== The answer as a function of n (nested prefixes of one base; best QPS per index at "
                         "each n, the summary's rule) ==")
        nqs = sorted(table["nq"].unique())
        for key, part in table[table["nq"].isin({nqs[0], nqs[-1]})].groupby(FAMILY, sort=True, dropna=False):
            env, family, query_set, k, threads, device, nq = key
            wide = part.pivot_table(index="n", columns="index", values="qps", aggfunc="first").sort_index()
            lines.append(f"\n{family} / {query_set} queries / {device} / nq={int(nq)} / k={int(k)} / "
                         f"{counted(threads, 'thread')}: best QPS at recall >= {t}" + (f"   [{env}]" if env else ""))
            width = max(10, *(len(c) for c in wide.columns))
            lines.append(f"  {'n':>12}" + "".join(f" {c:>{width}}" for c in wide.columns))
            for n, row in wide.iterrows():
                lines.append(f"  {n:>12,}" + "".join(f" {'-' if pd.isna(v) else f'{v:,.0f}':>{width}}" for v in row))
        lines += [f"  {describe_crossover(c)} ({c['query_set']}, nq={int(c['nq'])}, recall >= {t})"
                  for c in crossovers(table)]
    return lines


def _load_lines(rows: pd.DataFrame, targets, recall: str, budget: Budget) -> list[str]:
    """With points under load: the highest throughput over every client count, per target and budget."""
    lines: list[str] = []
    for t in targets:
        for _, row in best_over_loads(rows, t, recall, budget).iterrows():
            if not lines:
                lines.append("\n== Under load: the highest throughput over every client count measured"
                             + (f", within {budget.describe()}" if budget.describe() else "") + " ==")
            lines.append(f"  {row['dataset']} / {row['query_set']} / nq={int(row['nq'])} / k={int(row['k'])}"
                         + (f" / filter {row['filter_label']}" if row["filter_label"] else "")
                         + f", recall >= {t}: {counted(row['clients'], 'client')}, "
                         + verdict(row, budget))
    return lines


def _crossover_lines(df: pd.DataFrame, recall: str) -> list[str]:
    """Where CPU and GPU measured the same setting: from which nq the GPU is faster."""
    table = crossover(df, recall)
    if table.empty:
        return []
    lines = [f"\n== GPU vs CPU: from which nq the GPU has the higher QPS at every larger nq measured (recall = {recall}) =="]
    for (dataset, query_set), part in table.groupby(["dataset", "query_set"], sort=True):
        lines.append(f"\n{dataset} / {query_set} queries")
        names = [f"{r.index} {r.build_label} {r.search_label}{extra}" for r, extra in zip(part.itertuples(), apart(part))]
        width = max(len(n) for n in names)
        for name, (_, row) in zip(names, part.iterrows()):
            lines.append(f"  {name:{width}}  recall cpu {row['recall_cpu']:.4f} gpu {row['recall_gpu']:.4f}  "
                         + describe(row))
    return lines


def format_summary(df: pd.DataFrame, targets=TARGETS, recall: str = DEFAULT_RECALL, budget: Budget = Budget()) -> str:
    rows = comparable(df)
    if rows.empty:
        return "\n".join(["no successful results", *_not_measured_lines(df)])
    if recall not in rows:
        return f"no record has {recall!r}"
    lines = ["QPS: median over rounds (min-max of the rounds); cores: cores the search kept busy (process CPU s / "
             "wall s, spinning OpenMP threads included); bytes/vector: index bytes / n"]
    lines += _provenance(rows)
    lines += _tables(rows, targets, recall, budget)
    binary = float_truth_rows(rows)
    if not binary.empty:
        lines.append("\n== Binary codes judged by the float truth of their parent dataset, beside its float indexes ==")
        lines += _tables(binary, targets, FLOAT_TRUTH, budget, ": float (cosine) truth")
    lines += _scale_lines(rows, targets, recall)
    lines += _load_lines(rows, targets, recall, budget)
    lines += _crossover_lines(rows, recall)
    lines += gpu_lines(rows)
    lines += _kmeans_lines(rows)
    lines += _not_measured_lines(df)
    return "\n".join(lines)


def _kmeans_lines(rows: pd.DataFrame) -> list[str]:
    """The inverted-file builds whose k-means had fewer training rows a list than faiss's k-means asks for:
    their cells, and every figure measured on them, come from under-trained centroids."""
    if "train_rows" not in rows or "build.nlist" not in rows:
        return []
    builds = rows[["dataset", "index", "build_label", "train_rows", "build.nlist"]].dropna().drop_duplicates()
    short = builds[builds["train_rows"] < KMEANS_MIN_ROWS_PER_LIST * builds["build.nlist"]]
    if short.empty:
        return []
    lines = [f"\nk-means trained on fewer than the {KMEANS_MIN_ROWS_PER_LIST} rows a list faiss's k-means asks for "
             "(fewer lists train better centroids):"]
    for _, r in short.sort_values(["dataset", "index", "build.nlist"]).iterrows():
        trained, nlist = int(r["train_rows"]), int(r["build.nlist"])
        lines.append(f"  {r['dataset']} / {r['index']} {r['build_label']}: {trained:,} rows, {trained / nlist:.0f} "
                     f"a list (nlist <= {trained // KMEANS_MIN_ROWS_PER_LIST:,} gives at least "
                     f"{KMEANS_MIN_ROWS_PER_LIST})")
    return lines


def _not_measured_lines(df: pd.DataFrame) -> list[str]:
    """The points stored as failed or skipped, grouped by index and the reason the runner gave."""
    failed = df[df["status"] != "ok"] if "status" in df else df.iloc[0:0]
    if failed.empty:
        return []
    lines = [f"\n{len(failed)} point(s) not measured:"]
    for (index, status, reason), part in failed.groupby(["index", "status", "reason"]):
        said = reason if str(reason).startswith(f"{status}:") else f"{status}: {reason}"  # "skipped: no GPU"
        lines.append(f"  {index}: {said} ({counted(len(part), 'point')})")
    return lines

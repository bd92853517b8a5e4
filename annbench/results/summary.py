"""The answer a user came for: per index, the fastest setting that reaches a recall target.

Binary codes are also judged by the float (cosine) truth of the dataset they were
made from, in one table with that dataset's float indexes, with the bytes each
vector costs: that is the trade a user of binary codes is making.
"""

from __future__ import annotations

import os

import pandas as pd

from annbench.results.crossover import apart, crossover, describe

DEFAULT_RECALL = "recall_ties"
FLOAT_TRUTH = "recall_float_ties"
TARGETS = (0.9, 0.99)
GROUP = ["dataset", "query_set", "device", "nq"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "status" not in df:
        return df.iloc[0:0]
    return df[df["status"] == "ok"]


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(None, index=df.index, dtype=object)


def parent_names(df: pd.DataFrame) -> pd.Series:
    """Per row, the float dataset a binary row's codes were made from (None for float rows).

    Records carry ``parent_dataset``; older ones are looked up in their dataset file.
    """
    from annbench.data.parent import link_of

    cache: dict[str, str | None] = {}

    def lookup(path) -> str | None:
        if not isinstance(path, str) or not os.path.isfile(path):
            return None
        if path not in cache:
            cache[path] = link_of(path).get("parent_name")
        return cache[path]

    recorded = _column(df, "parent_dataset")
    bit = _column(df, "point_type") == "bit"
    paths = _column(df, "dataset_path")
    return pd.Series([(p if isinstance(p, str) and p else lookup(path)) if b else None
                      for p, b, path in zip(recorded, bit, paths)], index=df.index, dtype=object)


def code_name(dataset: str, parent: str) -> str:
    """``clip-synth-sign512`` of parent ``clip-synth`` -> ``sign512``."""
    return dataset[len(parent) + 1:] if dataset.startswith(parent + "-") else dataset


def float_truth_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Ok binary rows renamed into their parent's dataset (index ``bin_hnsw · sign512``), plus the
    parent's float rows; every row's ``recall_float_ties`` is against the same float truth.

    Empty when there are no binary rows with a known parent and a float truth.
    """
    rows = ok_rows(df)
    if rows.empty or FLOAT_TRUTH not in rows:
        return rows.iloc[0:0]
    parents = parent_names(rows)
    bit = rows[parents.notna() & rows[FLOAT_TRUTH].notna()].copy()
    if bit.empty:
        return bit
    bit["code"] = [code_name(d, p) for d, p in zip(bit["dataset"], parents[bit.index])]
    bit["index"] = bit["index"] + " · " + bit["code"]
    bit["dataset"] = parents[bit.index]
    flt = rows[(_column(rows, "point_type") != "bit") & rows["dataset"].isin(set(bit["dataset"]))
               & rows["nq"].isin(set(bit["nq"]))].copy()
    flt[FLOAT_TRUTH] = flt[FLOAT_TRUTH].fillna(flt["recall_ties"])  # float data: its own truth is the float truth
    flt["code"] = None
    return pd.concat([flt, bit], ignore_index=True)


def bytes_label(row: pd.Series) -> str:
    """Bytes per vector, with the float vectors a re-rank keeps beside the codes."""
    stored = row.get("bytes_per_vector")
    if stored is None or pd.isna(stored):
        return ""
    rerank_bytes = row.get("rerank_bytes_per_vector")
    extra = f" +{int(rerank_bytes):,} B re-rank" if pd.notna(rerank_bytes) and rerank_bytes else ""
    return f"{int(stored):,} B{extra}"


def best_at(df: pd.DataFrame, target: float, recall: str = DEFAULT_RECALL) -> pd.DataFrame:
    """Per (dataset, query set, device, nq, index): the highest-QPS row with recall >= target."""
    rows = ok_rows(df)
    rows = rows[rows[recall] >= target]
    if rows.empty:
        return rows
    idx = rows.groupby([*GROUP, "index"])["qps"].idxmax()
    return rows.loc[idx].sort_values([*GROUP, "qps"], ascending=[True] * len(GROUP) + [False])


def summary_table(df: pd.DataFrame, targets=TARGETS, recall: str = DEFAULT_RECALL,
                  nqs: list[int] | None = None) -> list[tuple[tuple, pd.DataFrame]]:
    """One small table per (dataset, query set, device, nq): index x target -> best QPS, setting, bytes;
    and each index's best recall with its bytes (to say how far an index that missed a target got)."""
    rows = ok_rows(df)
    if rows.empty:
        return []
    out = []
    for group, part in rows.groupby(GROUP):
        if nqs is not None and group[3] not in nqs:
            continue
        table = pd.DataFrame(index=sorted(part["index"].unique()))
        for t in targets:
            best = best_at(part, t, recall).set_index("index")
            table[f"QPS@{t}"] = best["qps"]
            table[f"setting@{t}"] = best["build_label"] + " " + best["search_label"]
            table[f"bytes@{t}"] = pd.Series({i: bytes_label(r) for i, r in best.iterrows()}, dtype=object)
        top = part.loc[part.groupby("index")[recall].idxmax()].set_index("index")
        table["max_recall"] = top[recall]
        table["max_recall_bytes"] = pd.Series({i: bytes_label(r) for i, r in top.iterrows()}, dtype=object)
        out.append((group, table))
    return out


def _tables(df: pd.DataFrame, targets, recall: str, with_bytes: bool, note: str = "") -> list[str]:
    rows = ok_rows(df)
    lines = []
    nq_values = sorted(rows["nq"].unique())
    shown = sorted({nq_values[0], nq_values[-1]})
    for (dataset, query_set, device, nq), table in summary_table(df, targets, recall, shown):
        width = max([10, *(len(i) for i in table.index)])
        swidth = max([30, *(len(str(s)) for t in targets for s in table[f"setting@{t}"].dropna())]) if with_bytes else 30
        bwidth = 22 if with_bytes else 0
        lines.append(f"\n{dataset} / {query_set} queries / {device} / nq={nq}   (recall = {recall}{note}, "
                     f"k={int(rows['k'].iloc[0])})")
        head = "".join(f" {'best QPS @ ' + str(t):>16} {'setting':{swidth}}"
                       + (f" {'bytes/vector':{bwidth}}" if with_bytes else "") for t in targets)
        lines.append(f"  {'index':{width}}" + head + ("  best recall (bytes/vector)" if with_bytes else ""))
        for index, row in table.iterrows():
            cells = ""
            for t in targets:
                qps = row[f"QPS@{t}"]
                cells += (f" {qps:>16,.0f} {row[f'setting@{t}']:{swidth}}" if pd.notna(qps)
                          else f" {'not reached':>16} {'':{swidth}}")
                if with_bytes:
                    cells += f" {row[f'bytes@{t}'] if pd.notna(qps) else '':{bwidth}}"
            if with_bytes:
                cells += f"  {row['max_recall']:.4f} ({row['max_recall_bytes']})"
            lines.append(f"  {index:{width}}{cells}")
        for t in targets:
            col = table[f"QPS@{t}"].dropna()
            if col.empty:
                lines.append(f"  fastest at recall >= {t}: none reached it")
            else:
                lines.append(f"  fastest at recall >= {t}: {col.idxmax()} ({col.max():,.0f} QPS, {table.loc[col.idxmax(), f'setting@{t}']})")
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


def format_summary(df: pd.DataFrame, targets=TARGETS, recall: str = DEFAULT_RECALL) -> str:
    rows = ok_rows(df)
    if rows.empty:
        return "no successful results"
    if recall not in rows:
        return f"no record has {recall!r}"
    binary = float_truth_rows(df)
    lines = _tables(df, targets, recall, with_bytes=not binary.empty)
    if not binary.empty:
        lines.append("\n== Binary codes judged by the float truth of their parent dataset, beside its float indexes ==")
        lines += _tables(binary, targets, FLOAT_TRUTH, with_bytes=True, note=": float (cosine) truth")
    lines += _crossover_lines(df, recall)
    failed = df[df["status"] != "ok"] if "status" in df else df.iloc[0:0]
    if not failed.empty:
        lines.append(f"\n{len(failed)} point(s) not measured:")
        for (index, status, reason), part in failed.groupby(["index", "status", "reason"]):
            lines.append(f"  {index}: {status}: {reason} ({len(part)} points)")
    return "\n".join(lines)

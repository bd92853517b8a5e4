"""The answer a user came for: per index, the fastest setting that reaches a recall target."""

from __future__ import annotations

import pandas as pd

DEFAULT_RECALL = "recall_ties"
TARGETS = (0.9, 0.99)
GROUP = ["dataset", "query_set", "device", "nq"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "status" not in df:
        return df.iloc[0:0]
    return df[df["status"] == "ok"]


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
    """One small table per (dataset, query set, device, nq): index x target -> best QPS and setting."""
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
        out.append((group, table))
    return out


def format_summary(df: pd.DataFrame, targets=TARGETS, recall: str = DEFAULT_RECALL) -> str:
    rows = ok_rows(df)
    if rows.empty:
        return "no successful results"
    lines = []
    nq_values = sorted(rows["nq"].unique())
    shown = sorted({nq_values[0], nq_values[-1]})
    for (dataset, query_set, device, nq), table in summary_table(df, targets, recall, shown):
        lines.append(f"\n{dataset} / {query_set} queries / {device} / nq={nq}   (recall = {recall}, k={int(rows['k'].iloc[0])})")
        lines.append(f"  {'index':10}" + "".join(f" {'best QPS @ ' + str(t):>16} {'setting':30}" for t in targets))
        for index, row in table.iterrows():
            cells = ""
            for t in targets:
                qps = row[f"QPS@{t}"]
                cells += f" {qps:>16,.0f} {row[f'setting@{t}']:30}" if pd.notna(qps) else f" {'not reached':>16} {'':30}"
            lines.append(f"  {index:10}{cells}")
        for t in targets:
            col = table[f"QPS@{t}"].dropna()
            if col.empty:
                lines.append(f"  fastest at recall >= {t}: none reached it")
            else:
                lines.append(f"  fastest at recall >= {t}: {col.idxmax()} ({col.max():,.0f} QPS, {table.loc[col.idxmax(), f'setting@{t}']})")
    failed = df[df["status"] != "ok"] if "status" in df else df.iloc[0:0]
    if not failed.empty:
        lines.append(f"\n{len(failed)} point(s) not measured:")
        for (index, status, reason), part in failed.groupby(["index", "status", "reason"]):
            lines.append(f"  {index}: {status}: {reason} ({len(part)} points)")
    return "\n".join(lines)

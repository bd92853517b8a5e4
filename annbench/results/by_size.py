"""The answer as a function of n: per index, the fastest setting at a recall target at each size of one
base (the prefixes ``annbench scale`` sweeps), and where one index overtakes another.

The fastest setting at each size is the one selection rule's (:func:`annbench.results.select.best`,
per index), so a size's row here is the summary's answer for that size.
"""

from __future__ import annotations

import pandas as pd

from annbench.results.select import best, comparable

FAMILY = ["environment", "scale_family", "query_set", "k", "threads", "device", "nq"]
COLUMNS = [*FAMILY, "n", "index", "qps", "qps_min", "qps_max", "build_label", "search_label", "build_s",
           "index_bytes", "peak_rss_build_bytes", "recall"]


def families(df: pd.DataFrame) -> pd.DataFrame:
    """Ok rows of datasets swept at several sizes of one base (``scale_family`` set, two or more n)."""
    rows = comparable(df)
    if rows.empty or "scale_family" not in rows or rows["scale_family"].isna().all():
        return rows.iloc[0:0]
    rows = rows[rows["scale_family"].notna()]
    sizes = rows.groupby("scale_family")["nb"].transform("nunique")
    return rows[sizes >= 2]


def best_by_size(df: pd.DataFrame, target: float, recall: str) -> pd.DataFrame:
    """One row per family group, n and index: its fastest setting reaching ``target`` at that n."""
    rows = families(df)
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    found = best(rows, target, recall, per=["index"])
    if found.empty:
        return pd.DataFrame(columns=COLUMNS)
    found = found.assign(n=found["nb"].astype(int), recall=found[recall])
    return found[COLUMNS].sort_values([*FAMILY, "index", "n"], kind="mergesort").reset_index(drop=True)


def crossovers(table: pd.DataFrame) -> list[dict]:
    """Per family group: where the index fastest at the largest n overtook each other index (the smallest
    measured n from which it stays ahead at every larger n, and the n before it where the other led)."""
    out = []
    for key, part in table.groupby(FAMILY, sort=True, dropna=False):
        wide = part.pivot_table(index="n", columns="index", values="qps", aggfunc="first").sort_index()
        if len(wide) < 2:
            continue
        last = wide.iloc[-1].dropna()
        if last.empty:
            continue
        leader = last.idxmax()
        for other in wide.columns.drop(leader):
            both = wide[[leader, other]].dropna()
            if len(both) < 2:
                continue
            ahead = (both[leader] > both[other]).to_numpy()
            if ahead.all() or not ahead[-1]:
                continue
            first = len(ahead) - int(pd.Series(ahead[::-1]).cummin().sum())
            out.append({**dict(zip(FAMILY, key)), "leader": leader, "other": other,
                        "from_n": int(both.index[first]), "before_n": int(both.index[first - 1])})
    return out


def describe_crossover(c: dict) -> str:
    return (f"{c['leader']} overtakes {c['other']} between n={c['before_n']:,} and n={c['from_n']:,} "
            f"(ahead from n={c['from_n']:,} at every larger n measured)")

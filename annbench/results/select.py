"""The one selection rule: the fastest setting that reaches a recall target, within a budget.

``annbench summary``, the report's recommendation cards and its tables all
call :func:`best`. Only comparable points compete: the same environment
(machine and library versions, :mod:`annbench.results.envs`), dataset, query
set, k, threads, device (a GPU point spread over several GPUs is a device of its own: ``gpu x2
replicate``), nq, concurrent clients and filter (``GROUP``). Within a group the winner is the
ok point with the highest median QPS among those whose recall reaches the
target and whose cost fits the budget (ties: higher recall, then id). The
runner-up is the best point of another index. When the winner's slowest round
is not faster than the runner-up's fastest (their min-max spreads overlap),
the two are a tie within noise; with a single round the spread is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annbench.results.envs import with_environment
from annbench.results.schema import device_label, filter_label

GROUP = ["environment", "dataset", "query_set", "k", "threads", "device", "nq", "clients", "filter_label"]
EXTRA = ["runner_up_index", "runner_up_qps", "tie"]


@dataclass(frozen=True)
class Budget:
    """Costs a user can afford; None is no limit."""

    max_bytes_per_vector: float | None = None   # index bytes / nb, plus float vectors kept for a re-rank
    max_build_s: float | None = None
    max_p99_ms: float | None = None             # p99 latency of a batch (under load with --clients); unknown: out

    def admits(self, df: pd.DataFrame) -> pd.Series:
        keep = pd.Series(True, index=df.index)
        if self.max_bytes_per_vector is not None:
            cost = total_bytes_per_vector(df)
            keep &= cost.notna() & (cost <= self.max_bytes_per_vector)
        if self.max_build_s is not None:
            build = _col(df, "build_s")
            keep &= build.notna() & (build <= self.max_build_s)
        if self.max_p99_ms is not None:
            p99 = _col(df, "batch_p99_ms")
            keep &= p99.notna() & (p99 <= self.max_p99_ms)
        return keep

    def describe(self) -> str:
        parts = []
        if self.max_bytes_per_vector is not None:
            parts.append(f"<= {self.max_bytes_per_vector:g} bytes/vector")
        if self.max_build_s is not None:
            parts.append(f"build <= {self.max_build_s:g} s")
        if self.max_p99_ms is not None:
            parts.append(f"p99 <= {self.max_p99_ms:g} ms")
        return ", ".join(parts)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(df[name], errors="coerce") if name in df else pd.Series(np.nan, index=df.index)


def total_bytes_per_vector(df: pd.DataFrame) -> pd.Series:
    """What each base vector costs in memory: the index's bytes per vector, plus a re-rank's float vector."""
    return _col(df, "bytes_per_vector") + _col(df, "rerank_bytes_per_vector").fillna(0)


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Ok rows with an ``environment`` column, ready to be grouped by ``GROUP``."""
    if df.empty or "status" not in df or "qps" not in df:
        return with_load_columns(df.iloc[0:0].assign(environment=""))
    rows = df[(df["status"] == "ok") & df["qps"].notna()]
    rows = rows if "environment" in rows else with_environment(rows)
    return with_load_columns(rows)


def with_load_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``clients`` (0: one caller) and ``filter_label`` ("": every row), never missing, and ``device`` as
    :func:`device_labels` gives it, so groups compare."""
    clients = pd.to_numeric(df["clients"], errors="coerce") if "clients" in df else pd.Series(np.nan, index=df.index)
    filters = df["filter"] if "filter" in df else pd.Series(None, index=df.index, dtype=object)
    return df.assign(clients=clients.fillna(0).astype(int), filter_label=[filter_label(f) for f in filters],
                     **({"device": device_labels(df)} if "device" in df else {}))


def device_labels(df: pd.DataFrame) -> list[str]:
    """Each row's device, a GPU point spread over several GPUs read as its own (``gpu x2 replicate``)."""
    gpus = df["gpus"] if "gpus" in df else [None] * len(df)
    modes = df["gpu_mode"] if "gpu_mode" in df else [None] * len(df)
    return [device_label(d, g, m) for d, g, m in zip(df["device"], gpus, modes)]


def _ranked(rows: pd.DataFrame, recall: str) -> pd.DataFrame:
    return rows.sort_values(["qps", recall, "id"], ascending=[False, False, True], kind="mergesort")


def _tie(winner: pd.Series, other: pd.Series) -> bool | None:
    lo, hi = winner.get("qps_min"), other.get("qps_max")
    if pd.isna(lo) or pd.isna(hi) or len(winner.get("rounds") or []) < 2 or len(other.get("rounds") or []) < 2:
        return None
    return bool(lo <= hi)


def tie_state(value) -> bool | None:
    """A stored ``tie`` read back (numpy bools and NaN included): True, False or None (unknown)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return bool(value)


def best(df: pd.DataFrame, target: float, recall: str, budget: Budget = Budget(),
         per: list[str] | None = None) -> pd.DataFrame:
    """Per ``GROUP`` (and per ``per`` columns, such as ["index"]): the fastest row reaching ``target``
    within ``budget``. Without ``per``, each winner also gets its runner-up (the best row of another
    index) and ``tie``: True when the two are within noise, False when not, None when unknown."""
    rows = comparable(df)
    rows = rows[(rows[recall] >= target) & budget.admits(rows)] if len(rows) else rows
    keys = GROUP + (per or [])
    out = []
    for _, part in rows.groupby(keys, sort=True, dropna=False):
        ranked = _ranked(part, recall)
        winner = ranked.iloc[0].copy()
        if per is None:
            others = ranked[ranked["index"] != winner["index"]]
            second = others.iloc[0] if len(others) else None
            winner["runner_up_index"] = None if second is None else second["index"]
            winner["runner_up_qps"] = np.nan if second is None else second["qps"]
            winner["tie"] = None if second is None else _tie(winner, second)
        out.append(winner)
    columns = list(rows.columns) + (EXTRA if per is None else [])
    return pd.DataFrame(out, columns=columns).reset_index(drop=True)


def best_over_loads(df: pd.DataFrame, target: float, recall: str, budget: Budget = Budget()) -> pd.DataFrame:
    """Over every client count measured (``--clients``): the highest throughput reaching ``target`` within
    ``budget`` (say p99 <= 10 ms), by :func:`best` on the points under load with their loads pooled;
    ``clients`` says at which load the winner ran."""
    rows = comparable(df)
    rows = rows[rows["clients"] > 0]
    if rows.empty:
        return rows
    won = best(rows.assign(clients=0, load=rows["clients"]), target, recall, budget)
    return won.assign(clients=won["load"]).drop(columns="load")


def best_recall(df: pd.DataFrame, recall: str, per: list[str]) -> pd.DataFrame:
    """Per ``GROUP`` and ``per``: the row with the highest recall (faster first among equals), to say how
    far an index that misses a target got."""
    rows = comparable(df)
    rows = rows[rows[recall].notna()]
    ranked = rows.sort_values([recall, "qps", "id"], ascending=[False, False, True], kind="mergesort")
    return ranked.drop_duplicates(GROUP + per, keep="first").reset_index(drop=True)

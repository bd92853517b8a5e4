"""Which setting to use for a recall target: the fastest one that reaches it.

Targets are what people ask for ("at least 0.95 recall"); the answer is the
highest-QPS configuration reaching it, per index and overall, with its cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGETS = (0.8, 0.9, 0.95, 0.99)
MB = 1 << 20
COLUMNS = ("target", "scope", "reached", "index", "device", "build_label", "search_label",
           "recall", "qps", "batch_p50_ms", "index_mb", "memory_mb", "build_s", "nq", "id")


def series_name(index: str, device: str) -> str:
    """How a chart, table or legend names an index on a device (CPU is the default)."""
    return index if device == "cpu" else f"{index} [{device}]"


def _fastest(df: pd.DataFrame, recall_col: str, target: float) -> pd.Series | None:
    hit = df[df[recall_col] >= target]
    if hit.empty:
        return None
    ranked = hit.sort_values(["qps", recall_col, "id"], ascending=[False, False, True], kind="mergesort")
    return ranked.iloc[0]


def _row(target: float, scope: str, best: pd.Series | None, df: pd.DataFrame, recall_col: str) -> dict:
    if best is None:  # not reached: say how close the scope got
        return {c: None for c in COLUMNS} | {
            "target": target, "scope": scope, "reached": False, "recall": float(df[recall_col].max())}
    return {
        "target": target, "scope": scope, "reached": True, "index": best["index"], "device": best["device"],
        "build_label": best["build_label"], "search_label": best["search_label"],
        "recall": float(best[recall_col]), "qps": float(best["qps"]),
        "batch_p50_ms": _num(best["batch_p50_ms"]), "index_mb": _num(best["index_bytes"], MB),
        "memory_mb": _num(best["memory_bytes"], MB), "build_s": _num(best["build_s"]),
        "nq": int(best["nq"]), "id": best["id"],
    }


def _num(value, scale: float = 1.0) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value) / scale


def best_per_target(df: pd.DataFrame, recall_col: str, targets: tuple[float, ...] = TARGETS) -> pd.DataFrame:
    """Per target: the overall winner, then the best of each index/device ("scope"), in name order.

    ``df`` holds the ok points of one dataset, query set, k and nq (QPS at different
    batch sizes are not comparable).
    """
    df = df[df[recall_col].notna() & df["qps"].notna()]
    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    scopes = df.assign(scope=[series_name(i, d) for i, d in zip(df["index"], df["device"])])
    rows = []
    for target in targets:
        rows.append(_row(target, "overall", _fastest(df, recall_col, target), df, recall_col))
        for scope, part in scopes.groupby("scope", sort=True):
            rows.append(_row(target, scope, _fastest(part, recall_col, target), part, recall_col))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def closest_to(df: pd.DataFrame, recall_col: str, target: float = 0.9) -> pd.Series | None:
    """The point whose recall is nearest ``target`` (faster wins a tie): a typical operating point."""
    df = df[df[recall_col].notna()]
    if df.empty:
        return None
    ranked = df.assign(_gap=(df[recall_col] - target).abs()).sort_values(
        ["_gap", "qps", "id"], ascending=[True, False, True], kind="mergesort")
    return ranked.iloc[0]

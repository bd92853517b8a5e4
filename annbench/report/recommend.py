"""Which setting to use for a recall target: the one selection rule of :mod:`annbench.results.select`.

Targets are what people ask for ("at least 0.95 recall"); the answer is the
highest-QPS configuration reaching it among comparable points (same device,
threads, nq, environment), per index and overall, with its cost, and whether
the runner-up is within noise of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annbench.quality import quality_text
from annbench.results.select import best, best_recall

TARGETS = (0.8, 0.9, 0.95, 0.99)
MB = 1 << 20
COLUMNS = ("target", "scope", "reached", "index", "device", "threads", "build_label", "search_label",
           "recall", "qps", "qps_min", "qps_max", "cpu_util", "batch_p50_ms", "index_mb", "bytes_per_vector",
           "memory_mb", "build_s", "nq", "id", "runner_up", "runner_up_qps", "tie", "quality")


def series_name(index: str, device: str) -> str:
    """How a chart, table or legend names an index on a device (CPU is the default)."""
    return index if device == "cpu" else f"{index} [{device}]"


def _num(value, scale: float = 1.0) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value) / scale


def _row(target: float, scope: str, best_row: pd.Series | None, reached_recall: float | None,
         device: str, threads, recall_col: str) -> dict:
    if best_row is None:  # not reached: say how close the scope got
        return {c: None for c in COLUMNS} | {"target": target, "scope": scope, "reached": False, "device": device,
                                             "threads": threads, "recall": reached_recall}
    r = best_row
    return {
        "target": target, "scope": scope, "reached": True, "index": r["index"], "device": r["device"],
        "threads": r["threads"], "build_label": r["build_label"], "search_label": r["search_label"],
        "recall": float(r[recall_col]), "qps": float(r["qps"]), "qps_min": _num(r.get("qps_min")),
        "qps_max": _num(r.get("qps_max")), "cpu_util": _num(r.get("cpu_util")),
        "batch_p50_ms": _num(r["batch_p50_ms"]), "index_mb": _num(r["index_bytes"], MB),
        "bytes_per_vector": _num(r.get("bytes_per_vector")), "memory_mb": _num(r["memory_bytes"], MB),
        "build_s": _num(r["build_s"]), "nq": int(r["nq"]), "id": r["id"],
        "runner_up": r.get("runner_up_index"), "runner_up_qps": _num(r.get("runner_up_qps")), "tie": r.get("tie"),
        "quality": quality_text(r),
    }


def best_per_target(df: pd.DataFrame, recall_col: str, targets: tuple[float, ...] = TARGETS) -> pd.DataFrame:
    """Per target and per comparable group (device, threads): the overall winner with its runner-up,
    then the best of each index ("scope"), in name order.

    ``df`` holds the ok points of one environment, dataset, query set, k and nq (QPS at different
    batch sizes are not comparable).
    """
    df = df[df[recall_col].notna() & df["qps"].notna()]
    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    rows = []
    for (device, threads), part in df.groupby(["device", "threads"], sort=True, dropna=False):
        tops = best_recall(part, recall_col, ["index"]).set_index("index")
        for target in targets:
            overall = best(part, target, recall_col)
            per_index = best(part, target, recall_col, per=["index"]).set_index("index") if len(overall) else None
            rows.append(_row(target, "overall", overall.iloc[0] if len(overall) else None,
                             float(part[recall_col].max()), device, threads, recall_col))
            for index in sorted(part["index"].unique()):
                hit = per_index.loc[index] if per_index is not None and index in per_index.index else None
                if hit is not None:
                    hit = hit.copy()
                    hit["index"] = index
                rows.append(_row(target, series_name(index, device), hit, float(tops.loc[index, recall_col]),
                                 device, threads, recall_col))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def closest_to(df: pd.DataFrame, recall_col: str, target: float = 0.9) -> pd.Series | None:
    """The point whose recall is nearest ``target`` (faster wins a tie): a typical operating point."""
    df = df[df[recall_col].notna()]
    if df.empty:
        return None
    ranked = df.assign(_gap=(df[recall_col] - target).abs()).sort_values(
        ["_gap", "qps", "id"], ascending=[True, False, True], kind="mergesort")
    return ranked.iloc[0]

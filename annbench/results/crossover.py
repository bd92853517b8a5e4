"""From which batch size the GPU pays: per index and setting, the smallest nq at
which GPU QPS beats CPU QPS (one GPU: points spread over several are left out).

CPU and GPU points of one setting (same environment, dataset, query set, k,
index, build and search parameters, threads) are paired at the nq values both measured. The
answer is the smallest such nq from which the GPU has the higher QPS at every
larger nq measured, or none when the CPU wins at the largest nq compared (the
nq values where the GPU won anyway are listed beside it). The recall
of each side is reported beside it: a GPU index that wins by losing recall is
not the same setting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annbench.results.envs import with_environment
from annbench.results.select import device_labels

SETTING = ["environment", "dataset", "query_set", "k", "index", "build_label", "search_label", "threads"]
COLUMNS = [*SETTING, "crossover_nq", "nq_compared", "gpu_wins_at", "max_nq", "speedup_at_max_nq", "recall_cpu",
           "recall_gpu"]


def _one_per_nq(rows: pd.DataFrame) -> pd.DataFrame:
    """One point per setting and nq: several results directories may hold the same point
    (same id); the first read counts, as in the report's charts."""
    return rows.drop_duplicates([*SETTING, "nq"], keep="first")


def _pairs(df: pd.DataFrame, recall: str) -> pd.DataFrame:
    keep = [*SETTING, "nq", "qps", recall]
    if df.empty or not {*keep, "device"} - {"environment"} <= set(df.columns):
        return pd.DataFrame(columns=[*SETTING, "nq", "qps_cpu", "qps_gpu", f"{recall}_cpu", f"{recall}_gpu"])
    ok = df["qps"].notna()
    if "status" in df:
        ok &= df["status"] == "ok"
    rows = df[ok]
    rows = rows if "environment" in rows else with_environment(rows)
    rows = rows.assign(k=rows["k"].fillna(-1), threads=rows["threads"].fillna(-1), device=device_labels(rows))
    cpu = _one_per_nq(rows[rows["device"] == "cpu"])[keep]
    gpu = _one_per_nq(rows[rows["device"] == "gpu"])[keep]
    return cpu.merge(gpu, on=[*SETTING, "nq"], suffixes=("_cpu", "_gpu"))


def crossover(df: pd.DataFrame, recall: str = "recall_ties") -> pd.DataFrame:
    """One row per setting measured on both devices (columns ``COLUMNS``), in setting order.

    ``crossover_nq`` is NaN where the GPU never wins; ``speedup_at_max_nq`` is
    GPU QPS / CPU QPS at the largest nq both measured.
    """
    pairs = _pairs(df, recall)
    out = []
    for key, part in pairs.groupby(SETTING, sort=True):
        part = part.sort_values("nq")
        gpu_wins = (part["qps_gpu"] > part["qps_cpu"]).to_numpy()
        # from the largest nq down, as long as the GPU keeps winning
        run = len(gpu_wins) - (np.argmin(gpu_wins[::-1]) if not gpu_wins.all() else len(gpu_wins))
        last = part.iloc[-1]
        out.append({**dict(zip(SETTING, key)),
                    "crossover_nq": float(part["nq"].iloc[run]) if run < len(part) else float("nan"),
                    "nq_compared": [int(v) for v in part["nq"]],
                    "gpu_wins_at": [int(v) for v in part["nq"][gpu_wins]],
                    "max_nq": int(last["nq"]),
                    "speedup_at_max_nq": float(last["qps_gpu"] / last["qps_cpu"]),
                    "recall_cpu": float(last[f"{recall}_cpu"]), "recall_gpu": float(last[f"{recall}_gpu"])})
    frame = pd.DataFrame(out, columns=COLUMNS)
    for col in ("k", "threads"):
        frame[col] = frame[col].where(frame[col] != -1)
    return frame


def apart(table: pd.DataFrame) -> list[str]:
    """Per row, `` k=10 threads=8`` for whichever of k and threads vary in ``table`` (else ""),
    so that settings measured at several of them read apart."""
    varying = [c for c in ("k", "threads") if table[c].nunique(dropna=False) > 1]
    return ["".join(f" {c}={int(v) if pd.notna(v) else '?'}" for c, v in zip(varying, vals))
            for vals in table[varying].itertuples(index=False)] if varying else [""] * len(table)


def describe(row: pd.Series) -> str:
    """``GPU faster from nq=100 (8.10x at nq=10,000)``, ``CPU faster at every nq up to 10,000 (0.50x there)``
    or ``CPU faster at nq=10,000 (0.90x), GPU at nq=1``."""
    if pd.isna(row["crossover_nq"]):
        ratio = f"{row['speedup_at_max_nq']:.2f}x"
        if not row["gpu_wins_at"]:
            return f"CPU faster at every nq up to {row['max_nq']:,} ({ratio} there)"
        wins = ", ".join(f"{n:,}" for n in row["gpu_wins_at"])
        return f"CPU faster at nq={row['max_nq']:,} ({ratio}), GPU at nq={wins}"
    return f"GPU faster from nq={int(row['crossover_nq']):,} ({row['speedup_at_max_nq']:.2f}x at nq={row['max_nq']:,})"

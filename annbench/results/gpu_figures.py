"""The GPU points in a few lines: end-to-end against device-only QPS, and GPU memory, per setting
(and GPU spread) at the largest nq measured (where the copies weigh least and the GPU is busiest)."""

from __future__ import annotations

import pandas as pd

from annbench.results.select import device_labels

SETTING = ["dataset", "query_set", "index", "build_label", "search_label", "device"]


def _size(value) -> str:
    if value is None or pd.isna(value):
        return "?"
    return f"{value / 2**30:.2f} GiB" if value >= 2**28 else f"{value / 2**20:.1f} MiB"


def _qps(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:,.0f}"


def gpu_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per GPU setting: its point at the largest nq measured."""
    if df.empty or "device" not in df or "gpu_model" not in df:
        return df.iloc[0:0]
    ok = df[df["gpu_model"].notna() & (df.get("status", "ok") == "ok") & df["qps"].notna()]
    if ok.empty:
        return ok
    ok = ok.assign(device=device_labels(ok))
    return ok.sort_values("nq").groupby(SETTING, sort=True).tail(1).sort_values(SETTING)


def gpu_lines(df: pd.DataFrame) -> list[str]:
    rows = gpu_rows(df)
    if rows.empty:
        return []
    lines = ["\n== GPU points at their largest nq: QPS end-to-end (copies included) and device-only "
             "(queries and results on the GPU), GPU memory of the index and peak while searching =="]
    for _, r in rows.iterrows():
        share = r.get("device_share")
        split = f" ({share:.2f} of the time is the GPU's own)" if share is not None and pd.notna(share) else ""
        spread = f" [{r['device']}]" if r["device"] != "gpu" else ""
        lines.append(f"  {r['index']} {r['build_label']} {r['search_label']}{spread}  nq={int(r['nq']):,}: "
                     f"{_qps(r['qps'])} end-to-end, {_qps(r.get('device_qps'))} device-only{split}; "
                     f"GPU {_size(r.get('gpu_index_bytes'))} index, {_size(r.get('gpu_peak_search_bytes'))} peak"
                     f" [{r['gpu_model']}]")
    return lines

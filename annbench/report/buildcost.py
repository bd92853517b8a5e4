"""What an index costs before the first query: build time (train + add) and size.

One bar per build setting and device; a build is measured once however many
search settings and batch sizes were swept on it.
"""

from __future__ import annotations

import pandas as pd

from annbench.report import fmt, spec
from annbench.report.palette import mix
from annbench.report.recommend import series_name


def builds(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (index, build setting, device): the first record of each, by id."""
    if df.empty:
        return df
    out = df.sort_values("id", kind="mergesort").drop_duplicates(["index", "build_label", "device"])
    order = sorted(range(len(out)), key=lambda i: (out["index"].iloc[i], out["device"].iloc[i],
                                                   spec.setting_key(out["build"].iloc[i])))
    return out.iloc[order]


def _category(row: pd.Series) -> str:
    build = "" if row["build_label"] == "-" else row["build_label"]
    return f"{series_name(row['index'], row['device'])} {build}".strip()


def _info(row: pd.Series) -> list[list[str]]:
    pairs = [("index", series_name(row["index"], row["device"])), ("build", row["build_label"]),
             ("train", fmt.seconds(row["train_s"])), ("add", fmt.seconds(row["add_s"])),
             ("build total", fmt.seconds(row["build_s"])), ("index size", fmt.megabytes(row["index_bytes"])),
             ("memory growth", fmt.megabytes(row["memory_bytes"])), ("threads", fmt.number(row["threads"]))]
    return [[k, str(v)] for k, v in pairs if v != "–"]


def build_time_chart(df: pd.DataFrame, colors: dict[str, str], cid: str) -> dict | None:
    """Stacked bars: training (full colour) under adding (light), per build setting."""
    rows = builds(df[df["build_s"].notna()])
    if rows.empty:
        return None
    cats = [_category(r) for _, r in rows.iterrows()]
    train, add = [], []
    for cat, (_, r) in zip(cats, rows.iterrows()):
        t = 0.0 if pd.isna(r["train_s"]) else float(r["train_s"])
        a = float(r["add_s"]) if pd.notna(r["add_s"]) else max(float(r["build_s"]) - t, 0.0)
        train.append(spec.point(cat, t, _info(r), color=colors[r["index"]]))
        add.append(spec.point(cat, a, _info(r), color=mix(colors[r["index"]], "#ffffff", 0.5)))
    return spec.chart(cid, "bar", "Build time per build setting", "train (dark) + add (light), seconds",
                      spec.axis("build setting", categories=cats), spec.axis("seconds"),
                      [spec.series("train", "#555b66", train), spec.series("add", "#b9bec7", add)])


def index_size_chart(df: pd.DataFrame, colors: dict[str, str], cid: str) -> dict | None:
    """Bars of the serialised index size (memory growth where the size is unknown)."""
    rows = builds(df[df["index_bytes"].notna() | df["memory_bytes"].notna()])
    if rows.empty:
        return None
    cats = [_category(r) for _, r in rows.iterrows()]
    pts = []
    for cat, (_, r) in zip(cats, rows.iterrows()):
        size = r["index_bytes"] if pd.notna(r["index_bytes"]) else r["memory_bytes"]
        pts.append(spec.point(cat, size / fmt.MB, _info(r), color=colors[r["index"]]))
    return spec.chart(cid, "bar", "Index size per build setting", "serialised index size, MB",
                      spec.axis("build setting", categories=cats), spec.axis("MB"),
                      [spec.series("index size", "#555b66", pts)])

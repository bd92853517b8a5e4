"""Read results directories into the one table every other report module uses.

Reading is the report's only contact with the results: nothing here (or
anywhere in the report) writes to a results directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annbench.errors import UserError
from annbench.results.envs import with_environment
from annbench.results.frame import distinct_dirs, load_results
from annbench.results.schema import RECALL_COLUMNS
from annbench.results.select import with_load_columns
from annbench.results.store import ResultStore
from annbench.results.subset import selected

NUMERIC = (
    "recall", "recall_ties", "recall_eps", "recall_float", "recall_float_ties",
    "qps", "qps_min", "qps_max", "cpu_util", "batch_p50_ms", "batch_p95_ms", "batch_p99_ms",
    "batch_p50_ms_min", "batch_p50_ms_max", "batches_timed", "queries_timed",
    "train_s", "add_s", "build_s", "index_bytes", "memory_bytes", "peak_rss_build_bytes", "peak_rss_search_bytes", "search_rss_growth_bytes",
    "ndis_per_query", "blas_threshold", "nq", "k", "nb", "d", "n_queries", "threads", "rerank",
    "bytes_per_vector", "rerank_bytes_per_vector", "vector_bytes", "n_paired",
    "paired_r1", "paired_r5", "paired_r10", "paired_r1_exact", "paired_r5_exact", "paired_r10_exact",
    "zero_shot_top1", "zero_shot_top5", "zero_shot_top1_exact", "zero_shot_top5_exact",
)
TEXT = ("dataset", "query_set", "modality", "metric", "index", "device", "status", "reason",
        "neighbors_file", "dataset_path", "run_id", "id", "build_label", "search_label", "results_dir",
        "point_type", "parent_dataset", "machine_label", "versions_label", "env", "machine_id", "spread", "task",
        "per_query_recall_file")


@dataclass
class ReportInput:
    """All records (ok or not) and the run manifests of the results directories."""

    records: pd.DataFrame
    manifests: dict[str, dict] = field(default_factory=dict)
    dirs: tuple[Path, ...] = ()

    @property
    def ok_all(self) -> pd.DataFrame:
        """Every ok point, under load and filtered ones included."""
        return self.records[self.records["status"] == "ok"]

    @property
    def ok(self) -> pd.DataFrame:
        """The ok points of one caller on every row: what the sections, tables and cards compare."""
        rows = self.ok_all
        return rows[(rows["clients"] == 0) & (rows["filter_label"] == "")]

    @property
    def under_load(self) -> pd.DataFrame:
        """Ok points measured with concurrent clients (``--clients``), without a filter."""
        rows = self.ok_all
        return rows[(rows["clients"] > 0) & (rows["filter_label"] == "")]

    @property
    def filtered(self) -> pd.DataFrame:
        """Ok points measured on the rows a filter passes (``--filter-selectivity``)."""
        rows = self.ok_all
        return rows[rows["filter_label"] != ""]

    @property
    def not_ok(self) -> pd.DataFrame:
        return self.records[self.records["status"] != "ok"]


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Give every expected column a value, so partial records never break a chart."""
    df = df.copy()
    for col in NUMERIC:
        df[col] = pd.to_numeric(df[col], errors="coerce") if col in df else np.nan
    for col in TEXT:
        if col not in df:
            df[col] = None
    for col in ("build", "search"):
        df[col] = [v if isinstance(v, dict) else {} for v in df[col]] if col in df else [{}] * len(df)
    df["status"] = df["status"].fillna("ok").astype(str)
    df["device"] = df["device"].fillna("cpu").astype(str)
    for col in ("dataset", "query_set", "index"):
        df[col] = df[col].fillna("?").astype(str)
    df["build_label"] = df["build_label"].fillna("-")
    df["search_label"] = df["search_label"].fillna("-")
    computed = df["train_s"].fillna(0) + df["add_s"].fillna(0)
    has_parts = df["train_s"].notna() | df["add_s"].notna()
    df["build_s"] = df["build_s"].where(df["build_s"].notna(), computed.where(has_parts))
    return with_load_columns(df).reset_index(drop=True)


def load(dirs: list[str | os.PathLike], recall_col: str = "recall_ties", machine: str | None = None,
         env: str | None = None, points: dict | None = None) -> ReportInput:
    """Records and manifests of ``dirs`` (only those of the machine, versions, datasets, query sets and
    indexes asked for, if asked),
    each record in its environment; bad input is a :class:`UserError`."""
    if not dirs:
        raise UserError("no results directory given")
    paths = tuple(Path(d) for d in distinct_dirs(dirs))
    for path in paths:
        if not path.is_dir():
            raise UserError(f"results directory not found: {path}")
    if recall_col not in RECALL_COLUMNS:
        raise UserError(f"unknown recall column {recall_col!r} (choose from {', '.join(RECALL_COLUMNS)})")
    frame = selected(load_results(*paths), machine, env, points)
    records = with_environment(_normalise(frame if len(frame) else pd.DataFrame({"status": pd.Series(dtype=str)})))
    manifests: dict[str, dict] = {}
    for path in paths:
        try:
            manifests.update(ResultStore(path).manifests())
        except (OSError, ValueError):
            raise UserError(f"unreadable run manifest in {path / 'manifests'}") from None
    ok = records[records["status"] == "ok"]
    if len(ok) and ok[recall_col].isna().all():
        present = [c for c in RECALL_COLUMNS if ok[c].notna().any()]
        raise UserError(f"no record has {recall_col!r}; the results have: {', '.join(present) or 'no recall'}")
    return ReportInput(records=records, manifests=manifests, dirs=paths)

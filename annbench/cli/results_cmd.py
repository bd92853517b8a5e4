"""``annbench results``: print stored results as a table, CSV or JSON, per machine and environment."""

from __future__ import annotations

import sys

from annbench.cli.filters import add_environment_args, selected

COLUMNS = ["dataset", "query_set", "index", "build_label", "search_label", "device", "nq", "k", "threads",
           "status", "recall", "recall_ties", "recall_eps", "qps", "qps_min", "qps_max", "cpu_util",
           "batch_p50_ms", "batch_p99_ms", "batches_timed", "build_s", "index_bytes", "bytes_per_vector",
           "peak_rss_search_bytes", "ndis_per_query", "machine_label", "versions_label"]
TOO_FEW = {"batch_p95_ms": "<20 batches", "batch_p99_ms": "<100 batches"}


def add_parser(sub) -> None:
    p = sub.add_parser("results", help="print stored results")
    p.add_argument("--results", action="append", required=True, help="results directory (repeatable)")
    p.add_argument("--format", default="table", choices=("table", "csv", "json"), help="output format (default table)")
    add_environment_args(p)
    p.set_defaults(func=run)


def _say_why_missing(df):
    """A percentile left out for too few batches reads as such, not as a blank."""
    ok = df["status"] == "ok" if "status" in df else True
    for col, text in TOO_FEW.items():
        if col in df:
            df[col] = df[col].astype(object).where(df[col].notna() | ~ok, text)
    return df


def run(args) -> int:
    from annbench.results.frame import load_results

    df = selected(load_results(*args.results), args)
    if df.empty:
        print("no results")
        return 0
    if args.format == "json":
        print(df.drop(columns=["build_label", "search_label", "machine_label", "versions_label"]).to_json(
            orient="records", indent=1))
        return 0
    cols = [c for c in COLUMNS if c in df]
    order = [c for c in ("machine_label", "versions_label", "dataset", "query_set", "index", "build_label", "search_label", "nq") if c in df]
    df = _say_why_missing(df.sort_values(order))
    if args.format == "csv":
        df[cols].to_csv(sys.stdout, index=False)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 250, "display.max_columns", None):
            print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0

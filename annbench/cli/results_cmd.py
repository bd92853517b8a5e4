"""``annbench results``: print stored results as a table, CSV or JSON."""

from __future__ import annotations

import sys

COLUMNS = ["dataset", "query_set", "index", "build_label", "search_label", "device", "nq", "k", "threads",
           "status", "recall", "recall_ties", "recall_eps", "qps", "batch_p50_ms", "batch_p99_ms",
           "build_s", "index_bytes", "ndis_per_query"]


def add_parser(sub) -> None:
    p = sub.add_parser("results", help="print stored results")
    p.add_argument("--results", action="append", required=True, help="results directory (repeatable)")
    p.add_argument("--format", default="table", choices=("table", "csv", "json"))
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.results.frame import load_results

    df = load_results(*args.results)
    if df.empty:
        print("no results")
        return 0
    if args.format == "json":
        print(df.drop(columns=["build_label", "search_label"]).to_json(orient="records", indent=1))
        return 0
    cols = [c for c in COLUMNS if c in df]
    df = df.sort_values([c for c in ("dataset", "query_set", "index", "build_label", "search_label", "nq") if c in df])
    if args.format == "csv":
        df[cols].to_csv(sys.stdout, index=False)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 250, "display.max_columns", None):
            print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0

"""``annbench summary``: per index the fastest setting at each recall target, the fastest overall, the GPU crossover."""

from __future__ import annotations

from annbench.cli.filters import add_environment_args, non_negative, parse_targets, selected
from annbench.results.schema import RECALL_COLUMNS


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="best QPS per index at recall targets")
    p.add_argument("--results", action="append", required=True, help="results directory (repeatable)")
    p.add_argument("--recall", default="recall_ties",
                   choices=RECALL_COLUMNS,
                   help="recall of the main tables (default recall_ties); binary codes also get a float-truth table")
    p.add_argument("--targets", default="0.9,0.99", help="recall targets, comma-separated (default 0.9,0.99)")
    p.add_argument("--max-bytes-per-vector", type=float, metavar="B",
                   help="only settings whose index (plus re-rank vectors) stores at most B bytes per vector")
    p.add_argument("--max-build-s", type=float, metavar="S", help="only settings built in at most S seconds")
    p.add_argument("--max-p99-ms", type=float, metavar="MS",
                   help="only settings whose p99 batch latency is at most MS ms (under load with --clients; "
                        "a point with under 100 timed batches has no p99 and is left out)")
    add_environment_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.results.frame import load_results
    from annbench.results.select import Budget
    from annbench.results.summary import format_summary

    targets = parse_targets(args.targets)
    budget = Budget(non_negative("--max-bytes-per-vector", args.max_bytes_per_vector),
                    non_negative("--max-build-s", args.max_build_s), non_negative("--max-p99-ms", args.max_p99_ms))
    df = selected(load_results(*args.results), args)
    print(format_summary(df, targets, args.recall, budget))
    return 0

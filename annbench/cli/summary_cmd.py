"""``annbench summary``: best QPS per index at recall 0.9 and 0.99, and the fastest overall."""

from __future__ import annotations

from annbench.results.schema import RECALL_COLUMNS


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="best QPS per index at recall targets")
    p.add_argument("--results", action="append", required=True, help="results directory (repeatable)")
    p.add_argument("--recall", default="recall_ties",
                   choices=RECALL_COLUMNS,
                   help="recall of the main tables (default recall_ties); binary codes also get a float-truth table")
    p.add_argument("--targets", default="0.9,0.99")
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.results.frame import load_results
    from annbench.results.summary import format_summary

    targets = tuple(float(t) for t in args.targets.split(","))
    print(format_summary(load_results(*args.results), targets, args.recall))
    return 0

"""``annbench tune``: the sweep's options and grid, tuned instead of swept (:mod:`annbench.runner.tune`)."""

from __future__ import annotations

import argparse
import sys

from annbench.errors import UserError
from annbench.results.schema import RECALL_COLUMNS

DESCRIPTION = """\
Find the fastest setting at each recall target while measuring few of a grid's points. The grid is
given as to sweep: --index NAME with --PARAM v1,v2 values (see `annbench indexes`), or --config FILE
(with --index NAME: that index's entries of the config only).

Search: the index's monotone search parameter (nprobe for IVF, ef for hnsw, hnswlib and bin_hnsw,
search_L for nsg, search_k for annoy, expansion_search for usearch, leaves_to_search for scann) is
bisected on each build, built once: per target, the smallest value whose recall reaches it. Without
values given for it, tune bisects a ladder of steps of at most 1.5x (ef 16, 24, 32, 48, ..., 1024; nprobe 1, 2, 3, 4, 6, ..., 256).

Builds: in grid order. Along each build parameter, the others fixed, a line of builds stops at the
first build that is not faster than the one before it at any target the earlier one reaches (nor
reaches another): the builds beyond it are not built.

Every measured point is an ordinary record (summary and report show them); the best setting per
target is chosen as in `annbench summary`. Running the same tune again measures nothing."""


def _sweep_parser() -> argparse.ArgumentParser:
    """The sweep's own parser: tune takes its options."""
    from annbench.cli import sweep_cmd

    holder = argparse.ArgumentParser().add_subparsers()
    sweep_cmd.add_parser(holder)
    return holder.choices["sweep"]


def add_parser(sub) -> None:
    p = sub.add_parser("tune", parents=[_sweep_parser()], conflict_handler="resolve", allow_abbrev=False,
                       help="the fastest setting per recall target, measuring few points (bisection)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="0.9,0.95,0.99", help="recall targets, comma-separated (default 0.9,0.95,0.99)")
    p.add_argument("--recall", default="recall_ties", choices=RECALL_COLUMNS, help="the recall judged (default recall_ties)")
    p.add_argument("--nq", help="query batch sizes (default 100, or the config's)")
    p.add_argument("--ray", nargs="?", const="", help=argparse.SUPPRESS)  # refused: see run()
    p.set_defaults(func=run)


def _grid_args(args) -> tuple[argparse.Namespace, list[str]]:
    """The sweep's arguments for the grid to tune: default candidates for the bisected parameter when
    none are given on the command line; with --config and --index, the config alone (filtered later)."""
    from annbench.backends import registry
    from annbench.runner.tune import DEFAULT_RANGE, ladder, parameter

    extra = list(getattr(args, "extra", []))
    if args.index:
        registry.get(args.index)  # an unknown index is said so
        param = parameter(args.index)
        if not args.config and param not in {flag[2:].replace("-", "_") for flag in extra[::2]}:
            extra += [f"--{param}", ",".join(map(str, ladder(*DEFAULT_RANGE[param])))]
    nq = args.nq if args.nq is not None or args.config else "100"
    return argparse.Namespace(**{**vars(args), "nq": nq, "index": None if args.config else args.index}), extra


def _plan(args):
    from annbench.cli.sweep_cmd import build_plan

    plan, results = build_plan(*_grid_args(args))
    if args.config and args.index:
        plan.builds = [bp for bp in plan.builds if bp.index == args.index]
        if not plan.builds:
            raise UserError(f"{args.config} has no index {args.index!r}")
    return plan, results


def _print_winners(results: str, out: dict, targets, recall: str) -> None:
    from annbench.runner.tune_executor import winners

    for target, rows in winners(results, out["ids"], targets, recall):
        if rows.empty:
            print(f"{recall} >= {target:g}: not reached by any measured setting")
        for _, row in rows.iterrows():
            flt = f", filter {row['filter_label']}" if row.get("filter_label") else ""
            print(f"{recall} >= {target:g} ({row['query_set']}, nq={row['nq']}, {row['device']}{flt}): "
                  f"{row['index']} {row['build_label']} {row['search_label']}: {row['qps']:,.0f} QPS "
                  f"({recall} {row[recall]:.4f})")


def run(args) -> int:
    from annbench.cli.filters import parse_targets
    from annbench.runner.tune_executor import run_tune

    if getattr(args, "ray", None) is not None:
        raise UserError("tune runs its builds one after another on this machine: --ray is for sweep")
    targets = parse_targets(args.targets)
    plan, results = _plan(args)
    print(f"tune: {len(plan.builds)} build(s), targets {', '.join(map(str, sorted(set(targets))))} "
          f"({args.recall}); the sweep's count below is the full grid's", file=sys.stderr)
    out = run_tune(plan, targets, args.recall, results)
    for label in out["skipped_builds"]:
        print(f"tune: not built: {label} (its line stopped at a dominated build)", file=sys.stderr)
    _print_winners(results, out, targets, args.recall)
    failed = f", {out['failed']} failed" if out["failed"] else ""
    print(f"tune done: {out['points']} points measured of the {out['grid']} the full grid would measure "
          f"({out['points'] / max(1, out['grid']):.0%}; {out['measured']} this run{failed}) -> {results}")
    return 0

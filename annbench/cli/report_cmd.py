"""``annbench report``: render the static HTML report from stored results (nothing is re-run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from annbench.cli.filters import add_environment_args, point_names
from annbench.errors import UserError
from annbench.results.schema import RECALL_COLUMNS


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="render an offline HTML report from results directories",
                       description="Render reports/NAME/index.html and one image per chart from stored results.")
    p.add_argument("--results", action="append", default=[], metavar="DIR",
                   help="results directory; repeat to combine several (default: results/bench)")
    p.add_argument("--out", metavar="DIR", help="report folder (default: reports/<name of the first results dir>)")
    p.add_argument("--recall", default="recall_ties", choices=RECALL_COLUMNS,
                   help="recall column used in charts and recommendations (default: recall_ties, tie-aware; "
                        "recall_float*: binary codes judged by their parent's float truth)")
    p.add_argument("--format", dest="image_format", default="png", choices=("png", "svg"),
                   help="file format of the chart images beside the page (default: png)")
    p.add_argument("--datasets", action="append", default=[], metavar="DIR",
                   help="where the query explorer looks for dataset files by name, when a record's path is stale")
    add_environment_args(p)
    p.set_defaults(func=run)


def default_out(results: list[str]) -> Path:
    name = Path(results[0]).resolve().name or "report"
    return Path("reports") / name


def run(args: argparse.Namespace) -> int:
    from annbench.report.build import build_report

    results = args.results or ["results/bench"]
    if not Path(results[0]).exists() and not args.results:
        raise UserError("no --results given and results/bench does not exist")
    out = Path(args.out) if args.out else default_out(results)
    page = build_report(results, out, recall_col=args.recall, image_format=args.image_format,
                        dataset_dirs=args.datasets, machine=args.machine, env=args.env,
                        points=point_names(args))
    print(page)
    return 0

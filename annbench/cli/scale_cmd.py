"""``annbench scale``: one config swept on nested prefixes of a dataset's base, into one results directory."""

from __future__ import annotations

import argparse
import os

from annbench.cli.paths import datasets_dir, resolve_dataset
from annbench.cli.sweep_cmd import add_measuring_options
from annbench.runner.config import parse_list


def add_parser(sub) -> None:
    p = sub.add_parser("scale", help="the same sweep at several n (nested prefixes of one base)", allow_abbrev=False,
                       description="Sweeps --config on the first n vectors of --dataset for each n: prefix datasets "
                                   "(with exact truth) are made once in the datasets directory and reused.")
    p.add_argument("--dataset", required=True, help="source dataset (name or path); its base is cut at each n")
    p.add_argument("--n", required=True, help="sizes, comma-separated, e.g. 30000,100000,300000,1000000")
    p.add_argument("--config", required=True, help="YAML sweep config (indexes, nq, k, min_time, ...)")
    p.add_argument("--results", help="results directory (default: results/NAME-scale)")
    p.add_argument("--dir", help="where the prefix datasets go (default: the datasets directory)")
    add_measuring_options(p)
    p.set_defaults(func=run)


def _sweep_args(args, dataset: str) -> argparse.Namespace:
    """The arguments a sweep of ``dataset`` with this scale's settings takes."""
    return argparse.Namespace(
        config=args.config, index=None, dataset=dataset, queries=None, nq=None, k=None, device=None,
        threads=args.threads, results=None, timeout=args.timeout, memory_limit_gb=args.memory_limit_gb,
        min_time=args.min_time, repeats=args.repeats, rerank=None, save_neighbors=args.save_neighbors,
        retry_failed=False, blas_threshold=None, clients=args.clients)


def run(args) -> int:
    from annbench.cli.sweep_cmd import build_plan
    from annbench.data.hdf5io import describe
    from annbench.runner.scale import run_scale

    source = resolve_dataset(args.dataset)
    ns = parse_list(args.n)
    if any(isinstance(n, float) and n.is_integer() for n in ns):  # 1e6 reads as a float
        ns = [int(n) if isinstance(n, float) and n.is_integer() else n for n in ns]
    name = describe(source)["name"]
    results = args.results or os.path.join("results", f"{name}-scale")
    where = args.dir or str(datasets_dir())

    def plan_for(path):  # its settings checked at the largest size: run_scale drops what a smaller one cannot hold
        plan, _ = build_plan(_sweep_args(args, str(path)), [], check_n=max(ns))
        return plan

    done = run_scale(source, ns, plan_for, results, where)
    total = {k: sum(c[k] for _, c in done) for k in ("measured", "resumed", "failed", "skipped")}
    print(f"scale done: {len(done)} sizes; {total['measured']} measured, {total['resumed']} already stored, "
          f"{total['failed']} failed, {total['skipped']} skipped -> {results}")
    return 0

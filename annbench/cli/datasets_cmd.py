"""``annbench datasets import|make|stats|list``."""

from __future__ import annotations

import importlib
from pathlib import Path

from annbench.cli.import_cmds import METRIC_HELP
from annbench.cli.paths import datasets_dir, new_dataset_file, resolve_dataset
from annbench.errors import UserError

EXTRA = ("annbench.cli.binarize_cmd", "annbench.cli.download_cmd", "annbench.cli.import_cmds")  # further `datasets` subcommands, each in its own module


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="create, import and inspect datasets")
    p.add_argument("--dir", default=None, help="datasets directory (default: datasets/ or $ANNBENCH_DATASETS)")
    dsub = p.add_subparsers(dest="datasets_command", required=True)

    imp = dsub.add_parser("import", help="write a dataset with exact ground truth from .npy arrays")
    imp.add_argument("name")
    imp.add_argument("--base", required=True, help="base vectors, .npy (n x d)")
    imp.add_argument("--queries", action="append", default=[], help="query vectors, .npy; repeat for more query sets")
    imp.add_argument("--query-set", action="append", default=[], help="name of each --queries set, in order (text, image, ...)")
    imp.add_argument("--query-labels", action="append", default=[], help="captions/labels of each --queries set, in order")
    imp.add_argument("--base-labels", help="captions/labels of the base items (.json list or one per line)")
    imp.add_argument("--base-modality", default="image", help="what the base vectors embed (default image)")
    imp.add_argument("--attribute", action="append", default=[], metavar="NAME=FILE.npy",
                     help="an integer per base row, for filtered search (sweep --filter \"NAME == 3\"); repeatable")
    imp.add_argument("--metric", required=True, choices=("angular", "euclidean"), help=METRIC_HELP)
    imp.add_argument("--holdout", type=int, default=0, help="take N random base vectors out as in-domain queries")
    imp.add_argument("--k", type=int, default=100, help="ground-truth depth (default 100)")
    imp.add_argument("--seed", type=int, default=0, help="seed of the --holdout rows (default 0)")
    imp.add_argument("--out", help="output path (default: DIR/NAME.hdf5)")
    imp.add_argument("--force", action="store_true", help="replace an existing dataset")
    imp.set_defaults(func=run_import)

    mk = dsub.add_parser("make", help="generate a synthetic dataset")
    mk.add_argument("kind", choices=("clip-synth",))
    mk.add_argument("--n", type=int, default=100_000, help="base vectors (default 100000)")
    mk.add_argument("--nq", type=int, default=1000, help="queries in each query set, text and image (default 1000)")
    mk.add_argument("--d", type=int, help="dimension (default 512; with --like, the dataset's)")
    mk.add_argument("--k", type=int, help="ground-truth depth (default: 100, or n when n < 100)")
    mk.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    mk.add_argument("--name", help="dataset name (default: the kind)")
    mk.add_argument("--out", help="output path (default: DIR/NAME.hdf5)")
    mk.add_argument("--force", action="store_true", help="replace an existing dataset")
    mk.add_argument("--like", metavar="DATASET",
                    help="fit the geometry to a sample of this dataset (a name or a path), not the built-in model")
    mk.add_argument("--sample", type=int,
                    help="with --like: rows fitted to, sampled from its base and from its other-modality queries "
                         "(default 10000)")
    mk.set_defaults(func=run_make)

    st = dsub.add_parser("stats", help="CLIP geometry statistics of a dataset")
    st.add_argument("dataset")
    st.set_defaults(func=run_stats)

    ls = dsub.add_parser("list", help="the datasets present")
    ls.set_defaults(func=run_list)

    for module in EXTRA:
        try:
            importlib.import_module(module).add_parser(dsub)
        except ModuleNotFoundError:
            pass


def _query_specs(args, metric_modality: str):
    from annbench.data.importer import QuerySpec, load_labels, load_npy

    if args.query_set and len(args.query_set) != len(args.queries):
        raise UserError(f"{len(args.query_set)} --query-set names for {len(args.queries)} --queries files")
    if args.query_labels and len(args.query_labels) != len(args.queries):
        raise UserError(f"{len(args.query_labels)} --query-labels files for {len(args.queries)} --queries files")
    specs = []
    for i, path in enumerate(args.queries):
        name = args.query_set[i] if args.query_set else ("test" if len(args.queries) == 1 else f"q{i}")
        xq = load_npy(path, f"queries {name!r}")
        labels = load_labels(args.query_labels[i], len(xq), f"labels of {name!r}") if args.query_labels else None
        modality = name if name in ("text", "image") else "unknown"
        specs.append(QuerySpec(name, xq, modality, labels))
    return specs


def run_import(args) -> int:
    from annbench.data.hdf5io import write_dataset
    from annbench.data.attributes import load_attributes
    from annbench.data.importer import holdout, holdout_rows, load_labels, load_npy
    from annbench.groundtruth.build_imported import build_dataset

    out = new_dataset_file(args, args.name)
    xb = load_npy(args.base, "base")
    base_labels = load_labels(args.base_labels, len(xb), "base labels") if args.base_labels else None
    attributes = load_attributes(args.attribute, len(xb))
    specs = _query_specs(args, args.base_modality)
    if args.holdout:
        kept = ~holdout_rows(len(xb), args.holdout, args.seed)
        attributes = {name: values[kept] for name, values in attributes.items()}
        xb, spec, base_labels = holdout(xb, args.holdout, args.seed, base_labels, args.base_modality)
        specs.append(spec)
    if not specs:
        raise UserError("give at least one --queries file or --holdout N")
    ds = build_dataset(args.name, xb, specs, args.metric, args.k, base_labels, args.base_modality)
    ds.attributes = attributes
    write_dataset(ds, out, force=args.force)
    sets = ", ".join(f"{q.name} ({q.nq})" for q in ds.query_sets.values())
    print(f"wrote {out}: n={ds.nb} d={ds.d} metric={ds.metric} query sets: {sets}; ground truth K={args.k}")
    return 0


def run_make(args) -> int:
    from annbench.data.synth_geometry import FIT_D
    from annbench.groundtruth.build_synth import make_clip_synth

    for flag in ("n", "nq", "d", "k"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be >= 1")
    if args.k is not None and args.k > args.n:
        raise UserError(f"--k {args.k} exceeds the base size n={args.n}")
    k = min(100, args.n) if args.k is None else args.k
    if args.like:
        return _make_like(args, k)
    if args.sample is not None:
        raise UserError("--sample needs --like (the dataset whose rows to fit to)")
    out = new_dataset_file(args, args.kind if args.name is None else args.name)
    make_clip_synth(out, n=args.n, nq=args.nq, d=args.d or FIT_D, seed=args.seed, k=k, force=args.force)
    print(f"wrote {out}")
    return 0


def _make_like(args, k: int) -> int:
    from annbench.data.synth_fit import SAMPLE
    from annbench.data.synth_fitted import read_fitted
    from annbench.groundtruth.build_synth import make_clip_synth_like
    from annbench.groundtruth.fit_check import check_lines

    if args.d is not None:
        raise UserError("--d cannot be set with --like: the dimension is the --like dataset's")
    like = resolve_dataset(args.like, args.dir)
    out = new_dataset_file(args, f"{args.kind}-like-{Path(like).stem}" if args.name is None else args.name)
    sample = SAMPLE if args.sample is None else args.sample
    make_clip_synth_like(out, like, n=args.n, nq=args.nq, sample=sample, seed=args.seed, k=k, force=args.force)
    model = read_fitted(out)
    print(f"wrote {out}\n{model.describe()}")
    print("\n".join(check_lines(model.source["check"], model.base)))
    return 0


def run_stats(args) -> int:
    from annbench.data.hdf5io import read_dataset
    from annbench.data.stats import dataset_stats, format_stats

    ds = read_dataset(resolve_dataset(args.dataset, args.dir))
    print(format_stats(dataset_stats(ds)))
    print(format_difficulty(ds))
    return 0


def format_difficulty(ds) -> str:
    """Median difficulty of each query set (see annbench/groundtruth/difficulty.py)."""
    import numpy as np

    from annbench.groundtruth.difficulty import MEASURES, base_nn_distance, query_difficulty

    base_nn = base_nn_distance(ds.xb, ds.metric)
    lines = ["", "query difficulty, medians over the queries (from the exact truth and seeded base samples):"]
    for name, qs in ds.query_sets.items():
        if not qs.gt_depth:
            continue
        found = query_difficulty(ds.xb, qs.queries, qs.distances, ds.metric, base_nn)
        cells = [f"{MEASURES[m]} {np.nanmedian(v):.3g}" for m, v in found.items() if np.isfinite(v).any()]
        lines.append(f"  {name} ({qs.modality}): " + "; ".join(cells))
    return "\n".join(lines)


def run_list(args) -> int:
    from annbench.data.hdf5io import describe

    root = datasets_dir(args.dir)
    files = sorted(root.glob("*.hdf5")) if root.exists() else []
    if not files:
        print(f"no datasets in {root}/ (make one: annbench datasets make clip-synth)")
        return 0
    print(f"{'name':24} {'n':>10} {'d':>5} {'metric':10} query sets (nq, K)")
    for path in files:
        try:
            info = describe(path)
        except UserError as exc:
            print(f"{path.stem:24} unreadable: {exc}")
            continue
        sets = ", ".join(f"{n} ({nq}, K={k})" for n, (nq, k, _) in info["query_sets"].items())
        print(f"{info['name']:24} {info['n']:>10} {info['d']:>5} {info['metric']:10} {sets}")
    return 0

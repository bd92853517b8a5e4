"""``annbench datasets import-clip-retrieval|import-bab|import-vdbb|import-vibe``: published formats -> datasets.

Each command reads its format (:mod:`annbench.data.formats`) and writes the
dataset through :mod:`annbench.groundtruth.build_formats`, which streams the
base, verifies supplied truth on a sample and computes the rest.
"""

from __future__ import annotations

from pathlib import Path

from annbench.cli.paths import new_dataset_file

CHUNK_HELP = "base rows read and written at a time (default 65536); memory grows with it"
METRIC_HELP = "angular: cosine (rows normalised), as CLIP is searched; euclidean: L2"
NAME_HELP = "dataset name: DIR/NAME.hdf5"
QUERY_SET_HELP = "name of the query set (text, image, ...; default test)"


def _common(p, *, seed_help: str = "seed of the verification sample") -> None:
    p.add_argument("--max-n", type=int, help="use only the first N base vectors")
    p.add_argument("--k", type=int, help="ground-truth depth (default: 100, or the supplied depth if smaller)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--chunk", type=int, default=65536, help=CHUNK_HELP)
    p.add_argument("--out", help="output path (default: DIR/NAME.hdf5)")
    p.add_argument("--force", action="store_true", help="replace an existing dataset")


def _supplied(p) -> None:
    p.add_argument("--verify-sample", type=int, default=100,
                   help="queries searched exactly to verify supplied truth (default 100)")


def add_parser(dsub) -> None:
    c = dsub.add_parser("import-clip-retrieval", help="a clip-retrieval / LAION embedding folder (img_emb, text_emb, metadata)")
    c.add_argument("folder")
    c.add_argument("--name", required=True, help=NAME_HELP)
    c.add_argument("--queries", type=int, default=1000,
                   help="held-out captions (their images stay in the base) and held-out images (taken out), each")
    c.add_argument("--base", choices=("image", "text"), default="image",
                   help="what the base holds: images (text-to-image search, the default) or captions (image-to-text)")
    _common(c, seed_help="seed of the held-out captions and images")
    c.set_defaults(func=run_clip_retrieval)

    b = dsub.add_parser("import-bab", help="big-ann-benchmarks .fbin/.u8bin/.i8bin files (+ truth)")
    b.add_argument("name")
    b.add_argument("--base", required=True, help="base vectors (.fbin, .f16bin, .u8bin, .i8bin)")
    b.add_argument("--queries", required=True, help="query vectors, same format")
    b.add_argument("--truth", help="ground truth (.ibin style: n, k, ids[, distances]); verified, else computed")
    b.add_argument("--metric", required=True, choices=("angular", "euclidean"), help=METRIC_HELP)
    b.add_argument("--query-set", default="test", help=QUERY_SET_HELP)
    _common(b)
    _supplied(b)
    b.set_defaults(func=run_bab)

    v = dsub.add_parser("import-vdbb", help="a VectorDBBench folder (train/test/neighbors.parquet)")
    v.add_argument("folder")
    v.add_argument("--name", required=True, help=NAME_HELP)
    v.add_argument("--metric", required=True, choices=("angular", "euclidean"), help=METRIC_HELP)
    v.add_argument("--query-set", default="test", help=QUERY_SET_HELP)
    v.add_argument("--recompute-truth", action="store_true", help="ignore neighbors.parquet and compute exact truth")
    _common(v)
    _supplied(v)
    v.set_defaults(func=run_vdbb)

    h = dsub.add_parser("import-vibe", help="a VIBE or ann-benchmarks HDF5 file (float or bits)")
    h.add_argument("file")
    h.add_argument("--name", required=True, help=NAME_HELP)
    h.add_argument("--query-set", default="test", help=QUERY_SET_HELP)
    h.add_argument("--recompute-truth", action="store_true", help="ignore the file's neighbors and compute exact truth")
    _common(h)
    _supplied(h)
    h.set_defaults(func=run_vibe)


def _write(source, args, out: Path) -> int:
    from annbench.groundtruth.build_formats import import_source

    return _report(import_source(source, out, k=args.k, force=args.force, chunk=args.chunk,
                                 sample=getattr(args, "verify_sample", 100), seed=args.seed))


def _report(result) -> int:
    sets = ", ".join(f"{name} ({nq}, K={k}, {how})" for name, nq, k, how in result.sets)
    print(f"wrote {result.path}: n={result.n} d={result.d} metric={result.metric}; query sets: {sets}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0


def run_clip_retrieval(args) -> int:
    from annbench.data.formats.clip_retrieval import open_clip_retrieval

    out = new_dataset_file(args, args.name)
    source = open_clip_retrieval(args.folder, queries=args.queries, seed=args.seed, max_n=args.max_n,
                                 base=args.base)
    return _write(source, args, out)


def run_bab(args) -> int:
    from annbench.data.formats.bab import open_bab

    out = new_dataset_file(args, args.name)
    source = open_bab(args.base, args.queries, args.metric, truth=args.truth, max_n=args.max_n,
                      query_set=args.query_set)
    return _write(source, args, out)


def run_vdbb(args) -> int:
    from annbench.data.formats.vdbb import open_vdbb

    out = new_dataset_file(args, args.name)
    source = open_vdbb(args.folder, args.metric, max_n=args.max_n, query_set=args.query_set,
                       recompute_truth=args.recompute_truth)
    return _write(source, args, out)


def run_vibe(args) -> int:
    from annbench.data.formats.vibe import is_binary, open_vibe
    from annbench.groundtruth.build_formats import import_bits

    out = new_dataset_file(args, args.name)
    if is_binary(args.file):
        return _report(import_bits(args.file, out, k=args.k, max_n=args.max_n, force=args.force,
                                   recompute_truth=args.recompute_truth, sample=args.verify_sample, seed=args.seed))
    source = open_vibe(args.file, max_n=args.max_n, query_set=args.query_set, recompute_truth=args.recompute_truth)
    return _write(source, args, out)

"""``annbench datasets binarize``: binary codes of a float dataset, with both truths and a parent link."""

from __future__ import annotations

from pathlib import Path


def add_parser(dsub) -> None:
    from annbench.data.binarize import METHODS

    b = dsub.add_parser("binarize", help="binary codes (sign, ITQ, LSH) of a float dataset, for Hamming/Jaccard indexes")
    b.add_argument("dataset", help="float dataset name (in the datasets directory) or path")
    b.add_argument("--method", required=True, choices=METHODS,
                   help="sign: centred signs (bits = d); itq: PCA + learned rotation (bits <= d); lsh: random projections")
    b.add_argument("--bits", type=int, help="code length, a multiple of 8 (default: the dimension d)")
    b.add_argument("--distance", default="hamming", choices=("hamming", "jaccard"),
                   help="the binary metric of the ground truth and the indexes (default hamming)")
    b.add_argument("--center-queries", action="store_true",
                   help="subtract the base mean from the queries too (in-modal queries; hurts cross-modal ones)")
    b.add_argument("--seed", type=int, default=0, help="seed of the LSH projections and the ITQ rotation")
    b.add_argument("--out", help="output path (default: DIR/NAME-METHODBITS[-jaccard].hdf5)")
    b.add_argument("--force", action="store_true", help="replace an existing dataset")
    b.set_defaults(func=run)


def run(args) -> int:
    from annbench.cli.paths import datasets_dir, refuse_existing, resolve_dataset
    from annbench.data.binarize import write_binary
    from annbench.data.hdf5io import read_dataset
    from annbench.errors import UserError
    from annbench.groundtruth.build_binary import binarize

    path = resolve_dataset(args.dataset, args.dir)
    parent = read_dataset(path)
    bits = parent.d if args.bits is None else args.bits
    suffix = "" if args.distance == "hamming" else "-jaccard"
    out = refuse_existing(Path(args.out) if args.out else datasets_dir(args.dir) / f"{parent.name}-{args.method}{bits}{suffix}.hdf5",
                          args.force)
    if out.resolve() == path.resolve():
        raise UserError(f"--out {out} is the float parent itself")
    ds, float_truths = binarize(parent, args.method, bits, args.distance, args.seed, args.center_queries)
    write_binary(ds, float_truths, parent, path, out, force=args.force)
    sets = ", ".join(f"{q.name} ({q.nq})" for q in ds.query_sets.values())
    print(f"wrote {out}: n={ds.nb} bits={bits} ({bits // 8} bytes/vector, {4 * parent.d} as float32) "
          f"{args.method} codes, {args.distance} truth K={next(iter(ds.query_sets.values())).gt_depth}, "
          f"float truth of {parent.name}; query sets: {sets}")
    return 0

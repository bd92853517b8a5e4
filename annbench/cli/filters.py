"""The options ``results``, ``summary`` and ``report`` share: which machine and library versions, and
which datasets, query sets and indexes."""

from __future__ import annotations


def add_environment_args(p) -> None:
    p.add_argument("--machine", metavar="TEXT",
                   help="only results of machines whose description (CPU, cores, GPUs) contains TEXT, or whose id is TEXT")
    p.add_argument("--env", metavar="TEXT",
                   help="only results whose library versions contain TEXT, e.g. faiss-cpu==1.15.1")
    p.add_argument("--dataset", metavar="NAMES", help="only these datasets, comma-separated")
    p.add_argument("--queries", metavar="NAMES", help="only these query sets, comma-separated (text, image, ...)")
    p.add_argument("--index", metavar="NAMES", help="only these indexes, comma-separated (ivf_flat,hnsw)")


def point_names(args) -> dict:
    """``--dataset``, ``--queries`` and ``--index`` as the lists :func:`annbench.results.subset.select_points`
    takes (None where not given)."""
    from annbench.runner.config import parse_list

    given = {"dataset": args.dataset, "query_set": args.queries, "index": args.index}
    return {col: None if text is None else parse_list(text, names=True) for col, text in given.items()}


def selected(df, args):
    """The rows of the machine, versions, datasets, query sets and indexes ``args`` ask for."""
    from annbench.results.subset import selected as select

    return select(df, args.machine, args.env, point_names(args))


def parse_targets(text: str) -> tuple[float, ...]:
    """``"0.99,0.9,0.9"`` -> (0.9, 0.99): each target once, ascending; anything but numbers in (0, 1] is a
    one-line error."""
    from annbench.errors import UserError

    targets = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UserError(f"--targets: {part.strip()!r} is not a number (give recalls such as 0.9,0.99)") from None
        if not 0 < value <= 1:
            raise UserError(f"--targets: {value:g} is not a recall in (0, 1]")
        targets.append(value)
    return tuple(sorted(set(targets)))


def non_negative(name: str, value: float | None) -> float | None:
    from annbench.errors import UserError

    if value is not None and not value >= 0:
        raise UserError(f"{name} must be >= 0, got {value:g}")
    return value

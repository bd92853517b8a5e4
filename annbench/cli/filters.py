"""The options ``results``, ``summary`` and ``report`` share: which machine and which library versions."""

from __future__ import annotations


def add_environment_args(p) -> None:
    p.add_argument("--machine", metavar="TEXT",
                   help="only results of machines whose description (CPU, cores, GPUs) contains TEXT, or whose id is TEXT")
    p.add_argument("--env", metavar="TEXT",
                   help="only results whose library versions contain TEXT, e.g. faiss-cpu==1.15.1")


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

"""What every binary-code backend shares: packed codes in, a binary metric, integer search settings.

``d`` is the number of bits; vectors arrive packed, ``d / 8`` uint8 per row.
Re-ranking candidates with the parent's float vectors is the runner's
(:mod:`annbench.runner.rerank`), swept as its own parameter: no backend declares
or sees it.
"""

from __future__ import annotations

import numpy as np

from annbench.backends.params import require_int, with_defaults
from annbench.data.bits import check_bits
from annbench.errors import UserError


def check_binary(cls: type, d: int, metric: str) -> int:
    """The bit count as a byte count, after refusing float metrics and odd widths."""
    if metric not in cls.metrics:
        raise UserError(f"index {cls.name!r} searches {' or '.join(cls.metrics)} codes, not {metric!r} data")
    try:
        return check_bits(d) // 8
    except UserError as exc:
        raise UserError(f"{cls.name}: {exc}") from None


def check_search(cls: type, search: dict) -> dict:
    """Defaults filled in, unknown names refused, every value an integer >= 1."""
    _, search = with_defaults(cls, {}, search)
    for key, value in search.items():
        require_int(cls, key, value)
    return search


def as_result(D: np.ndarray, I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 distances, int64 ids; a -1 slot gets +inf whatever the library wrote there."""
    I = np.asarray(I, dtype=np.int64)
    D = np.where(I >= 0, np.asarray(D, dtype=np.float32), np.float32(np.inf))
    return D.astype(np.float32), I

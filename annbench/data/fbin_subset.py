"""The first n rows of a big-ann-benchmarks ``.fbin``/``.u8bin`` base as a valid file of its own.

The format is a header of two little-endian uint32 (rows, dimension) and then the
rows; the first ``8 + n * d * itemsize`` bytes of the full file are the first n
rows, and only the header's row count must change (as big-ann-benchmarks does for
its 10M and 100M subsets).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from annbench.data.catalogue import Rows
from annbench.errors import UserError

HEADER = struct.Struct("<II")


def prefix_bytes(n: int, layout: Rows) -> int:
    return HEADER.size + n * layout.d * layout.itemsize


def read_header(path: str | os.PathLike) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(HEADER.size)
    if len(head) < HEADER.size:
        raise UserError(f"{Path(path).name}: too short for a .fbin header")
    return HEADER.unpack(head)


def cut_header(path: str | os.PathLike, n: int, layout: Rows) -> None:
    """Check that ``path`` holds the first n rows of the full file and make its header say n rows.

    Idempotent: a header already rewritten (a run stopped before the rename) is accepted.
    """
    path = Path(path)
    rows, d = read_header(path)
    if d != layout.d or rows not in (layout.total, n):
        raise UserError(f"{path.name}: the header says {rows} rows of dimension {d}, "
                        f"not the {layout.total} x {layout.d} of the catalogue")
    if path.stat().st_size != prefix_bytes(n, layout):
        raise UserError(f"{path.name}: {path.stat().st_size} bytes, not the {prefix_bytes(n, layout)} of {n} rows")
    with open(path, "r+b") as fh:
        fh.write(HEADER.pack(n, d))

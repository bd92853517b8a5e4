"""big-ann-benchmarks binary files: ``.fbin`` / ``.f16bin`` / ``.u8bin`` / ``.i8bin`` vectors and their truth.

Vectors: little-endian uint32 n, uint32 d, then n*d values (float32, float16,
uint8, int8 by suffix), row-major. Ground truth (``.ibin``-style): uint32 n,
uint32 k, n*k int32 ids, then n*k float32 distances; a file of ids alone (as
cuVS/RAFT split it, ``groundtruth.neighbors.ibin``) is read too. The supplied
distances are not kept: their convention varies by dataset (squared or not,
inner products), so the pipeline stores the exact distances of the supplied
ids, recomputed from the vectors.

Every read maps the file for one chunk of rows (:mod:`.mapped`): memory holds
one chunk, never the file. ``max_n`` crops the base to its first rows, as
big-ann-benchmarks crops its 1B files to 10M or 100M.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from annbench.data.formats.mapped import Opener, raw_opener, read_rows
from annbench.data.formats.source import QueryInput, Source
from annbench.errors import UserError

KIND = "big-ann-benchmarks"
DTYPES = {".fbin": "<f4", ".f16bin": "<f2", ".u8bin": "u1", ".i8bin": "i1"}
HEADER = 8  # two uint32


def _header(path: Path, what: str) -> tuple[int, int, int]:
    """``(rows, columns, file size)`` of a file that starts with two uint32."""
    if not path.is_file():
        raise UserError(f"{what}: file not found: {path}")
    size = path.stat().st_size
    if size < HEADER:
        raise UserError(f"{what}: {path} is too short for a big-ann-benchmarks header ({size} bytes)")
    n, d = (int(v) for v in np.fromfile(path, dtype="<u4", count=2))
    if n == 0 or d == 0:
        raise UserError(f"{what}: {path} holds no data (header n={n}, d={d})")
    return n, d, size


def vectors_file(path: str | Path, what: str) -> tuple[Opener, int, int]:
    """``(open, n, d)`` of a vectors file, its size checked against its header."""
    path = Path(path)
    if path.suffix not in DTYPES:
        raise UserError(f"{what}: {path} is not a big-ann-benchmarks vectors file "
                        f"(suffix one of {', '.join(DTYPES)})")
    n, d, size = _header(path, what)
    dtype = np.dtype(DTYPES[path.suffix])
    if size != HEADER + n * d * dtype.itemsize:
        raise UserError(f"{what}: {path} has {size} bytes; its header says {n} x {d} {dtype.name} "
                        f"({HEADER + n * d * dtype.itemsize} bytes)")
    return raw_opener(path, dtype, (n, d), HEADER), n, d


def truth_ids(path: str | Path, nq: int) -> np.ndarray:
    """The ``nq x k`` neighbour ids (int64) of a truth file, with or without its distances."""
    path = Path(path)
    n, k, size = _header(path, "ground truth")
    if size not in (HEADER + n * k * 4, HEADER + n * k * 8):
        raise UserError(f"ground truth: {path} has {size} bytes; its header says {n} x {k} "
                        f"(ids: {HEADER + n * k * 4} bytes, with distances: {HEADER + n * k * 8})")
    if n != nq:
        raise UserError(f"ground truth: {path} is for {n} queries, the query file holds {nq}")
    return read_rows(raw_opener(path, "<i4", (n, k), HEADER), 0, n, dtype=np.int64)


def _chunks(opener: Opener, name: str, n: int, rows: int) -> Iterator[tuple[str, np.ndarray]]:
    for a in range(0, n, rows):
        b = min(n, a + rows)
        yield f"{name}[{a}:{b}]", read_rows(opener, a, b)


def open_bab(base: str | Path, queries: str | Path, metric: str, *, truth: str | Path | None = None,
             max_n: int | None = None, query_set: str = "test") -> Source:
    """A :class:`Source` of a base file, a query file and an optional truth file."""
    opener, n, d = vectors_file(base, "base")
    q_opener, nq, qd = vectors_file(queries, "queries")
    if qd != d:
        raise UserError(f"queries: dimension {qd} of {queries} does not match the base dimension {d}")
    if max_n is not None and max_n < 1:
        raise UserError(f"--max-n must be >= 1, got {max_n}")
    n_used = n if max_n is None else min(n, max_n)
    ids = truth_ids(truth, nq) if truth is not None else None
    modality = query_set if query_set in ("text", "image") else "unknown"
    qs = QueryInput(query_set, read_rows(q_opener, 0, nq), modality, truth=ids,
                    truth_from=str(truth) if truth is not None else "")
    attrs = {"source_format": KIND, "source_path": str(Path(base).resolve()), "source_rows": n}
    notes = [f"base cropped to its first {n_used} of {n} rows"] if n_used < n else []
    return Source(KIND, metric, n_used, d, partial(_chunks, opener, Path(base).name, n_used), [qs],
                  attrs=attrs, notes=notes)

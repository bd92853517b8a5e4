"""Rows of memory-mapped files, read so that the mapped pages do not pile up in the process.

A page of a mapped file that has been read counts in the reader's resident
memory until the mapping goes away; one mapping held over a whole 10 GB shard
would end with that shard resident. So every read maps the file, copies the
rows it needs (as float32, or as stored), and drops the mapping: the resident
cost of a read is its own rows, whatever the file size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from annbench.errors import UserError

Opener = Callable[[], np.ndarray]


def npy_opener(path: str | os.PathLike, what: str) -> tuple[Opener, tuple[int, ...], np.dtype]:
    """``(open, shape, dtype)`` of a .npy file, checked once: ``open()`` maps it read-only."""
    path = Path(path)
    if path.suffix != ".npy":
        raise UserError(f"{what}: not a .npy file: {path}")
    opener = lambda: np.load(path, mmap_mode="r", allow_pickle=False)  # noqa: E731
    try:
        m = opener()
    except (ValueError, OSError) as exc:
        raise UserError(f"{what}: not a readable .npy array: {path} ({str(exc).splitlines()[0]})") from None
    shape, dtype = tuple(m.shape), m.dtype
    del m
    return opener, shape, dtype


def raw_opener(path: str | os.PathLike, dtype, shape: tuple[int, int], offset: int) -> Opener:
    """``open()`` maps ``shape`` rows of ``dtype`` that start ``offset`` bytes into ``path``."""
    return lambda: np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def read_rows(opener: Opener, start: int, stop: int, dtype=np.float32) -> np.ndarray:
    """Rows ``start:stop`` as a C array of ``dtype`` (None: as stored), the mapping dropped after."""
    m = opener()
    try:
        return np.array(m[start:stop], dtype=dtype or m.dtype, order="C")
    finally:
        del m


def take_rows(opener: Opener, ids: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Rows ``ids`` (any order), touching only the pages that hold them."""
    m = opener()
    try:
        return np.array(m[np.asarray(ids, dtype=np.int64)], dtype=dtype or m.dtype, order="C")
    finally:
        del m

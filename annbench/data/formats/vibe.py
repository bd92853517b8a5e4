"""VIBE and ann-benchmarks HDF5 files, the base read from the file a chunk at a time.

Both use the ann-benchmarks layout (``train``, ``test``, ``neighbors``,
``distances``; attrs ``distance``, ``point_type``). VIBE adds:

- ``distance`` = ``normalized`` (vectors L2-normalised, compared by inner
  product): imported as ``angular``, which is the same ranking; ``cosine`` too.
  ``ip`` (maximum inner product on unnormalised vectors) is refused: annbench
  measures angular and euclidean search only.
- ``point_type`` ``uint8`` / ``int8`` (quantised vectors): read as float32.
- ``learn`` (and ``learn_neighbors``): extra queries from the query
  distribution, meant for training learned indexes. They are neither base nor
  queries here: left out, and said so.

Bit datasets (``distance`` hamming or jaccard: ann-benchmarks' unpacked
booleans, VIBE's packed ``binary``) are small (d/8 bytes a vector) and are read
whole by :func:`annbench.data.hdf5io.read_dataset`; :func:`is_binary` tells
them apart. Memory for float files: one chunk of ``rows`` base rows, plus the
queries and their supplied neighbour ids.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from annbench.data.formats.source import QueryInput, Source
from annbench.data.hdf5io import open_h5, require_layout
from annbench.data.model import BINARY_METRICS
from annbench.errors import UserError

KIND = "VIBE / ann-benchmarks HDF5"
METRICS = {"normalized": "angular", "cosine": "angular", "angular": "angular", "euclidean": "euclidean"}


def _attr(f: h5py.File, name: str, default: str = "") -> str:
    value = f.attrs.get(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_layout(f: h5py.File, path: Path) -> str:
    require_layout(f, path)
    return _attr(f, "distance")


def is_binary(path: str | Path) -> bool:
    """Whether ``path`` is a bit dataset (Hamming or Jaccard)."""
    path = Path(path)
    with open_h5(path) as f:
        distance = _check_layout(f, path)
        return distance in BINARY_METRICS or _attr(f, "point_type") in ("bit", "binary")


def _chunks(path: Path, n: int, rows: int) -> Iterator[tuple[str, np.ndarray]]:
    with h5py.File(path, "r") as f:
        train = f["train"]
        for a in range(0, n, rows):
            b = min(n, a + rows)
            yield f"{path.name} train[{a}:{b}]", np.asarray(train[a:b], dtype=np.float32)


def _neighbors(f: h5py.File, path: Path, nq: int) -> np.ndarray | None:
    if "neighbors" not in f or f["neighbors"].ndim != 2 or f["neighbors"].shape[1] == 0:
        return None
    ids = f["neighbors"][()]
    if ids.shape[0] != nq:
        raise UserError(f"{path}: 'neighbors' has {ids.shape[0]} rows for {nq} queries")
    if ids.dtype.kind not in "iu":
        raise UserError(f"{path}: 'neighbors' must hold integer ids, found {ids.dtype}")
    return ids.astype(np.int64)


def open_vibe(path: str | Path, *, max_n: int | None = None, query_set: str = "test",
              recompute_truth: bool = False) -> Source:
    """A :class:`Source` of a float VIBE / ann-benchmarks file; truth from ``neighbors`` when present."""
    path = Path(path)
    with open_h5(path) as f:
        distance = _check_layout(f, path)
        if distance not in METRICS:
            hint = " (maximum inner product is not an annbench metric)" if distance in ("ip", "dot") else ""
            raise UserError(f"{path}: distance {distance!r} cannot be imported{hint}; "
                            f"known: {', '.join(METRICS)}, hamming, jaccard")
        train = f["train"]
        if train.ndim != 2 or 0 in train.shape:
            raise UserError(f"{path}: 'train' must be a non-empty 2-D array, got shape {train.shape}")
        if train.dtype.kind not in "fiu":
            raise UserError(f"{path}: 'train' holds {train.dtype}, not numbers")
        if max_n is not None and max_n < 1:
            raise UserError(f"--max-n must be >= 1, got {max_n}")
        n, d = train.shape
        n_used = n if max_n is None else min(n, max_n)
        xq = f["test"][()]
        truth = None if recompute_truth else _neighbors(f, path, len(xq))
        notes = [f"'learn' ({f['learn'].shape[0]} training queries) left out: neither base nor queries"] \
            if "learn" in f else []
        if n_used < n:
            notes.append(f"base cropped to its first {n_used} of {n} rows")
        if truth is None:
            notes.append("truth computed" + (" (the file has none)" if not recompute_truth else ""))
        attrs = {"source_format": KIND, "source_path": str(path.resolve()), "source_rows": n,
                 "source_distance": distance, "source_point_type": _attr(f, "point_type", "float")}
    modality = query_set if query_set in ("text", "image") else "unknown"
    qs = QueryInput(query_set, xq, modality, truth=truth, truth_from=f"{path}:neighbors" if truth is not None else "")
    return Source(KIND, METRICS[distance], n_used, d, partial(_chunks, path, n_used), [qs], attrs=attrs, notes=notes)

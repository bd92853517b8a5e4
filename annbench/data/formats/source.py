"""What every importer hands the ground-truth layer: a base streamed in chunks, and query sets.

A format reader (``clip_retrieval``, ``bab``, ``vdbb``, ``vibe``) checks its
files and returns a :class:`Source`; the pipeline
(:mod:`annbench.groundtruth.build_formats`) writes the base with
:func:`write_base`, then adds each query set with verified or computed truth.
The base never exists in memory whole: ``chunks(rows)`` yields at most
``rows`` base rows at a time, each checked (finite, the right dimension),
L2-normalised under the angular metric (in place: a yielded array belongs to
the pipeline) and written before the next is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import h5py
import numpy as np

from annbench.data.hdf5io import DatasetWriter
from annbench.data.validate import check_metric, check_name, check_nonzero, check_vectors, row_norms
from annbench.errors import UserError

CHUNK = 65536  # base rows read, checked and written at a time
LABEL_CHUNK = 65536  # base labels per HDF5 chunk


@dataclass
class QueryInput:
    """One query set as read: raw rows, and the neighbour ids the source supplies (None: compute)."""

    name: str
    xq: np.ndarray
    modality: str = "unknown"
    labels: list[str] | None = None
    pairs: np.ndarray | None = None
    task: str = "paired"
    truth: np.ndarray | None = None  # nq x K base row ids, best first
    truth_from: str = ""  # where the supplied truth was read, for messages

    def __post_init__(self) -> None:
        check_name(self.name, "query set")  # before any base row is read or written


@dataclass
class Source:
    """A base of ``n`` x ``d`` rows in base order, and its query sets."""

    kind: str
    metric: str
    n: int
    d: int
    chunks: Callable[[int], Iterator[tuple[str, np.ndarray]]]  # (what, raw rows) in base order
    queries: list[QueryInput]
    labels: Callable[[int], Iterator[list[str]]] | None = None  # base labels in base order
    base_modality: str = "unknown"
    attrs: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the import left out, said to the user


def prepare(rows: np.ndarray, what: str, metric: str, d: int) -> np.ndarray:
    """float32 rows checked for NaN, inf and dimension; unit-norm under the angular metric.

    ``rows`` may be overwritten. Norms accumulate in float64 without a float64
    copy of the chunk (a chunk's float64 copy would double its memory).
    """
    x = check_vectors(rows, what, d)
    if metric != "angular":
        return x
    norms = row_norms(x)
    check_nonzero(norms == 0, what)
    if not x.flags.writeable:  # a view of pyarrow's or a mapped file's buffer
        x = x.copy()
    x /= norms.astype(np.float32)[:, None]
    return x


def write_base(writer: DatasetWriter, source: Source, chunk: int = CHUNK) -> tuple[h5py.Dataset, float]:
    """Stream the base (and its labels) into ``writer``; returns ``train`` and the largest row norm."""
    check_metric(source.metric)
    if chunk < 1:
        raise UserError(f"chunk must be >= 1 row, got {chunk}")
    train = writer.create_base(source.n, source.d)
    pos, max_sq = 0, 0.0
    for what, rows in source.chunks(chunk):
        x = prepare(rows, what, source.metric, source.d)
        if pos + len(x) > source.n:
            raise UserError(f"{source.kind}: more than the {source.n} base rows announced")
        train[pos:pos + len(x)] = x
        max_sq = max(max_sq, float(np.einsum("ij,ij->i", x, x).max()))
        pos += len(x)
    if pos != source.n:
        raise UserError(f"{source.kind}: {pos} base rows read, {source.n} announced")
    if source.labels is not None:
        _write_labels(writer, source, chunk)
    return train, float(np.sqrt(max_sq))


def _write_labels(writer: DatasetWriter, source: Source, chunk: int) -> None:
    """``annbench/base_labels`` filled a chunk at a time (the layout :mod:`annbench.data.hdf5io` reads)."""
    dset = writer.ext.create_dataset("base_labels", shape=(source.n,), dtype=h5py.string_dtype("utf-8"),
                                     chunks=(max(1, min(source.n, LABEL_CHUNK)),))
    pos = 0
    for labels in source.labels(chunk):
        if not labels:
            continue
        if pos + len(labels) > source.n:
            raise UserError(f"{source.kind}: more labels than the {source.n} base rows")
        dset[pos:pos + len(labels)] = np.array(labels, dtype=object)
        pos += len(labels)
    if pos != source.n:
        raise UserError(f"{source.kind}: {pos} base labels for {source.n} base rows")

"""Pipeline: an imported format (a :class:`~annbench.data.formats.source.Source`) -> a dataset file with truth.

The base streams into the file a chunk at a time
(:func:`annbench.data.formats.source.write_base`); truth is then computed or
verified from the file in blocks, so the import's memory is bounded by one
chunk, the ground-truth working set and the queries, never by n:

- a query set without supplied truth gets exact truth (one blocked pass over
  the base for all such sets together);
- supplied truth is checked (ids in the base, distinct, deep enough), verified
  on a seeded sample of queries against exact search
  (:mod:`annbench.groundtruth.verify`), and stored with its exact distances
  recomputed in one pass (:mod:`annbench.groundtruth.pair_distances`), each row
  sorted by them.

Queries and supplied ids are checked before the base is written, so bad input
fails in seconds; any failure leaves no file (the writer renames a finished
temporary into place).

Memory, whatever n is: the libraries (~90 MiB) plus the larger of the writing
working set (about two chunks as float32 with their raw rows: 2 x chunk x d x 4
bytes, 256 MiB at the default 65,536 rows and d = 512) and the truth working
set (one block of ``chunk`` rows, and at most ``exact.GATHER_ROWS`` = 2^18
candidate rows re-scored: 512 MiB at d = 512), plus the queries and the
supplied ids. ``make bench-import`` measures it (README, "Importing").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from annbench.data.formats.source import CHUNK, Source, prepare, write_base
from annbench.data.hdf5io import RowReader, dataset_writer
from annbench.data.model import QuerySet
from annbench.data.validate import check_depth
from annbench.errors import UserError
from annbench.groundtruth.exact import DEFAULT_K, exact_knn
from annbench.groundtruth.pair_distances import pair_distances
from annbench.groundtruth.verify import SAMPLE, checked_ids, verify_bits, verify_float


@dataclass
class Imported:
    """What an import wrote, for the command's report."""

    path: Path
    n: int
    d: int
    metric: str
    sets: list[tuple[str, int, int, str]] = field(default_factory=list)  # name, nq, K, truth
    notes: list[str] = field(default_factory=list)


def _depth(k: int | None, n: int, supplied: np.ndarray | None) -> int:
    if k is not None:
        return check_depth(k, n)
    available = n if supplied is None else min(n, supplied.shape[1])
    return max(1, min(DEFAULT_K, available))


def _sorted(D: np.ndarray, I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows best first by (distance, id)."""
    order = np.lexsort((I, D), axis=-1)
    return np.take_along_axis(D, order, 1).astype(np.float32), np.take_along_axis(I, order, 1)


def import_source(source: Source, out: str | os.PathLike, *, k: int | None = None, force: bool = False,
                  chunk: int = CHUNK, sample: int = SAMPLE, seed: int = 0) -> Imported:
    """Write ``source`` to ``out`` with verified or computed truth of depth ``k`` (default 100, or less)."""
    names = [q.name for q in source.queries]
    if len(set(names)) != len(names):
        raise UserError(f"query set names repeat: {', '.join(names)}")
    xqs, depths, ids = {}, {}, {}
    for q in source.queries:  # everything checkable before the long base write
        xqs[q.name] = prepare(q.xq, f"query set {q.name!r}", source.metric, source.d)
        depths[q.name] = _depth(k, source.n, q.truth)
        if q.truth is not None:
            ids[q.name] = checked_ids(q.truth, source.n, len(q.xq), depths[q.name], q.truth_from or q.name)
    result = Imported(Path(out), source.n, source.d, source.metric, notes=list(source.notes))
    with dataset_writer(out, metric=source.metric, d=source.d, base_modality=source.base_modality,
                        force=force, attrs=source.attrs) as writer:
        train, max_norm = write_base(writer, source, chunk)
        xb = RowReader(train)
        truths = _computed(xb, source, xqs, depths, ids, chunk)
        for q in source.queries:
            if q.name in ids:
                D = pair_distances(xb, xqs[q.name], ids[q.name], source.metric, chunk)
                verified = verify_float(xb, xqs[q.name], ids[q.name], D, source.metric, max_norm=max_norm,
                                        what=q.truth_from or q.name, sample=sample, seed=seed, block=chunk)
                truths[q.name] = _sorted(D, ids[q.name])
                how = f"supplied, verified on {verified} sampled queries"
            else:
                how = "computed"
            D, I = truths[q.name]
            writer.add_query_set(QuerySet(q.name, xqs[q.name], I, D, q.modality, q.labels, q.pairs, q.task))
            result.sets.append((q.name, len(I), I.shape[1], how))
    return result


def _computed(xb, source: Source, xqs: dict, depths: dict, ids: dict, chunk: int) -> dict:
    """Exact truth of every set without supplied truth, in one pass (at the deepest K asked)."""
    todo = [q.name for q in source.queries if q.name not in ids]
    if not todo:
        return {}
    deepest = max(depths[name] for name in todo)
    D, I = exact_knn(xb, np.vstack([xqs[name] for name in todo]), deepest, source.metric, block=chunk)
    truths, offset = {}, 0
    for name in todo:
        part = slice(offset, offset + len(xqs[name]))
        truths[name] = (D[part, :depths[name]], I[part, :depths[name]])
        offset += len(xqs[name])
    return truths


def import_bits(path: str | os.PathLike, out: str | os.PathLike, *, k: int | None = None, max_n: int | None = None,
                force: bool = False, recompute_truth: bool = False, sample: int = SAMPLE, seed: int = 0) -> Imported:
    """A bit dataset (Hamming / Jaccard), packed: read whole (d/8 bytes a vector), truth verified or computed."""
    from annbench.data.bits import distances_of
    from annbench.data.hdf5io import read_dataset, write_dataset
    from annbench.groundtruth.binary import exact_binary_knn

    ds = read_dataset(path)
    if max_n is not None:
        if max_n < 1:
            raise UserError(f"--max-n must be >= 1, got {max_n}")
        ds.xb = ds.xb[:max_n]
    result = Imported(Path(out), ds.nb, ds.d, ds.metric)
    for qs in ds.query_sets.values():
        supplied = qs.neighbors if qs.gt_depth and not recompute_truth else None
        depth = _depth(k, ds.nb, supplied)
        if supplied is None:
            D, I = exact_binary_knn(ds.xb, qs.queries, depth, ds.metric)
            how = "computed"
        else:
            what = f"{path}:neighbors"
            I = checked_ids(supplied, ds.nb, qs.nq, depth, what)
            verified = verify_bits(ds.xb, qs.queries, I, ds.metric, what=what, sample=sample, seed=seed)
            D, I = _sorted(distances_of(ds.xb, qs.queries, I, ds.metric), I)
            how = f"supplied, verified on {verified} sampled queries"
        qs.neighbors, qs.distances = I, D.astype(np.float32)
        result.sets.append((qs.name, qs.nq, depth, how))
    ds.attrs.update({"source_format": "ann-benchmarks bits", "source_path": str(Path(path).resolve())})
    write_dataset(ds, out, force=force)
    return result

"""VectorDBBench parquet datasets, read in batches with pyarrow.

Layout::

    DIR/train.parquet        id (integer), emb (list of floats); or train-00-of-10.parquet, ...
                             (shuffle_train-00-of-10.parquet, ...), read in file order
    DIR/test.parquet         id, emb: the queries
    DIR/neighbors.parquet    id (a test id), neighbors_id (list of train ids, best first)

Base row i of the dataset is the i-th train row read; ``neighbors_id`` holds
train *ids*, mapped to rows here (shuffled train files do not hold ids in row
order). Memory: one parquet batch of vectors (``rows`` x d) at a time, plus the
id column (8 bytes per vector; 16 when the ids are not already 0..n-1 in row
order) to map the supplied neighbours; pyarrow decodes one row group at a time.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from annbench.data.formats.source import QueryInput, Source
from annbench.errors import UserError

KIND = "VectorDBBench"
SHARD = re.compile(r"(shuffle_)?train(-(\d+)-of-(\d+))?\.parquet")


def _parquet(path: Path, columns: tuple[str, ...]):
    import pyarrow.parquet as pq

    if not path.is_file():
        raise UserError(f"{KIND}: file not found: {path}")
    try:
        f = pq.ParquetFile(path)
    except Exception as exc:  # ArrowInvalid, OSError, ...: not a parquet file
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    missing = [c for c in columns if c not in f.schema_arrow.names]
    if missing:
        raise UserError(f"{path}: no column {', '.join(map(repr, missing))} "
                        f"(columns: {', '.join(f.schema_arrow.names)})")
    return f


def train_files(folder: Path) -> list[Path]:
    """``train.parquet``, or its numbered parts in order."""
    if not folder.is_dir():
        raise UserError(f"{KIND} folder not found: {folder}")
    found = [(SHARD.fullmatch(p.name), p) for p in folder.iterdir()]
    found = [(m, p) for m, p in found if m]
    if not found:
        raise UserError(f"{folder}: no train.parquet (nor train-NN-of-MM.parquet parts)")
    layouts = {(bool(m.group(1)), m.group(4)) for m, _ in found}
    if len(layouts) > 1:
        raise UserError(f"{folder}: train files of several layouts ({', '.join(sorted(p.name for _, p in found))})")
    return [p for _, p in sorted(found, key=lambda mp: int(mp[0].group(3) or 0))]


def matrix(column, what: str, d: int | None = None) -> np.ndarray:
    """A list<number> column as an n x d array (float32 or float64), every list d long."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_list(column.type) and not pa.types.is_large_list(column.type) \
            and not pa.types.is_fixed_size_list(column.type):
        raise UserError(f"{what}: expected a list of numbers per row, found {column.type}")
    if column.null_count:
        raise UserError(f"{what}: {column.null_count} row(s) without a vector")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    d = int(lengths[0]) if d is None and len(lengths) else d
    if len(lengths) and (lengths != d).any():
        bad = int(np.argmax(lengths != d))
        raise UserError(f"{what}: row {bad} holds {lengths[bad]} values, expected {d}")
    values = column.flatten().to_numpy(zero_copy_only=False)
    if values.dtype.kind not in "fiu":
        raise UserError(f"{what}: non-numeric vectors ({column.type})")
    return values.reshape(len(lengths), d or 0)


def _ids(column, what: str) -> np.ndarray:
    ids = column.to_numpy(zero_copy_only=False)
    if ids.dtype.kind not in "iu":
        raise UserError(f"{what}: the id column must hold integers, found {ids.dtype}")
    return ids.astype(np.int64)


def _scan_train(files: list[Path], max_n: int | None) -> tuple[np.ndarray, int]:
    """The train ids in row order (the first ``max_n``) and the dimension, reading ids and one vector."""
    ids, d = [], None
    for path in files:
        f = _parquet(path, ("id", "emb"))
        if d is None and f.metadata.num_rows:
            d = matrix(next(f.iter_batches(batch_size=1, columns=["emb"])).column(0), str(path)).shape[1]
        ids.append(_ids(f.read(columns=["id"]).column(0), str(path)))
    train_ids = np.concatenate(ids)[:max_n]
    if not len(train_ids) or not d:
        raise UserError(f"{KIND}: the train files hold no vectors")
    return train_ids, d


def _chunks(files: list[Path], n: int, d: int, rows: int) -> Iterator[tuple[str, np.ndarray]]:
    import pyarrow.parquet as pq

    pos = 0
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=["emb"]):
            take = min(batch.num_rows, n - pos)
            if take <= 0:
                return
            what = f"{path.name} rows {pos}:{pos + take}"
            yield what, matrix(batch.column(0).slice(0, take), what, d)
            pos += take


def _row_of(train_ids: np.ndarray):
    """Train id -> base row: identity when the ids are 0..n-1 in order, else a sorted lookup."""
    if np.array_equal(train_ids, np.arange(len(train_ids))):
        return lambda ids: np.where((ids >= 0) & (ids < len(train_ids)), ids, -1)
    order = np.argsort(train_ids, kind="stable")
    sorted_ids = train_ids[order]
    if (np.diff(sorted_ids) == 0).any():
        raise UserError(f"{KIND}: the train files repeat ids")

    def lookup(ids: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[pos] == ids, order[pos], -1)
    return lookup


def _truth(path: Path, test_ids: np.ndarray, row_of) -> np.ndarray:
    f = _parquet(path, ("id", "neighbors_id"))
    table = f.read(columns=["id", "neighbors_id"])
    gt_ids = _ids(table.column("id"), str(path))
    where = {int(t): i for i, t in enumerate(gt_ids)}
    missing = [int(t) for t in test_ids if int(t) not in where]
    if missing:
        raise UserError(f"{path}: no neighbours for {len(missing)} test id(s) (first: {missing[0]})")
    lists = table.column("neighbors_id").combine_chunks()
    neighbors = matrix(lists.take(np.array([where[int(t)] for t in test_ids])), f"{path} neighbors_id")
    rows = row_of(neighbors.astype(np.int64))
    if (rows < 0).any():
        raise UserError(f"{path}: {int((rows < 0).any(axis=1).sum())} queries name train ids that are not in "
                        f"the base (cropped by --max-n?); --recompute-truth computes the truth instead")
    return rows


def open_vdbb(folder: str | Path, metric: str, *, max_n: int | None = None, query_set: str = "test",
              recompute_truth: bool = False) -> Source:
    """A :class:`Source` of a VectorDBBench folder; truth from ``neighbors.parquet`` when present."""
    folder = Path(folder)
    files = train_files(folder)
    if max_n is not None and max_n < 1:
        raise UserError(f"--max-n must be >= 1, got {max_n}")
    train_ids, d = _scan_train(files, max_n)
    test = _parquet(folder / "test.parquet", ("id", "emb")).read(columns=["id", "emb"])
    xq = matrix(test.column("emb"), str(folder / "test.parquet"), d)
    neighbors = folder / "neighbors.parquet"
    notes = []
    truth = None
    if recompute_truth or not neighbors.exists():
        notes.append("truth computed" + ("" if recompute_truth else " (no neighbors.parquet)"))
    else:
        truth = _truth(neighbors, _ids(test.column("id"), "test.parquet"), _row_of(train_ids))
    modality = query_set if query_set in ("text", "image") else "unknown"
    qs = QueryInput(query_set, xq, modality, truth=truth, truth_from=str(neighbors) if truth is not None else "")
    attrs = {"source_format": KIND, "source_path": str(folder.resolve()), "source_rows": len(train_ids)}
    return Source(KIND, metric, len(train_ids), d, partial(_chunks, files, len(train_ids), d), [qs],
                  attrs=attrs, notes=notes)

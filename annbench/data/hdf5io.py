"""Read and write datasets in the ann-benchmarks HDF5 layout.

Root: ``train`` (nb x d), ``test`` (nq x d), ``neighbors`` (nq x K), ``distances``
(nq x K); attrs ``distance``, ``dimension``, ``point_type``. ann-benchmarks'
reader sees exactly that. annbench's CLIP extension lives in a group that such
readers ignore: ``annbench/query_sets/<name>/{test,neighbors,distances}`` (attr
``modality``, optional ``labels``, optional ``pairs``: the base id of each
query's true match, -1 for none, with attr ``task`` "paired" or
"classification") and ``annbench/base_labels``. The first query set is the root
``test`` (hard links, stored once).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from annbench.atomic import atomic_path, remove_stale
from annbench.data.attributes import read_attributes, write_attribute
from annbench.data.model import BINARY_METRICS, Dataset, QuerySet
from annbench.errors import UserError

EXT = "annbench"
_STR = h5py.string_dtype(encoding="utf-8")


def open_h5(path: str | os.PathLike) -> h5py.File:
    path = Path(path)
    if not path.exists():
        raise UserError(f"dataset file not found: {path}")
    if not path.is_file():
        raise UserError(f"not a file: {path}")
    try:
        return h5py.File(path, "r")
    except OSError:
        raise UserError(f"not an HDF5 file: {path}") from None


def require_layout(f: h5py.File, path: Path) -> None:
    """An ann-benchmarks file: ``train``, ``test`` and the ``distance`` attribute, else a one-line error."""
    for key in ("train", "test"):
        if key not in f:
            raise UserError(f"{path}: missing '{key}' (not an ann-benchmarks dataset)")
    if "distance" not in f.attrs:
        raise UserError(f"{path}: missing the 'distance' attribute")


def _strings(ds) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]


def _order(f: h5py.File) -> list[str]:
    names = f[EXT].attrs.get("query_set_order", list(f[EXT]["query_sets"]))
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _query_sets(f: h5py.File) -> dict[str, QuerySet]:
    if EXT in f and "query_sets" in f[EXT]:
        sets = {}
        for name in _order(f):
            g = f[EXT]["query_sets"][name]
            sets[name] = QuerySet(
                name=name,
                queries=g["test"][()],
                neighbors=g["neighbors"][()].astype(np.int64),
                distances=g["distances"][()].astype(np.float32),
                modality=str(g.attrs.get("modality", "unknown")),
                labels=_strings(g["labels"]) if "labels" in g else None,
                pairs=g["pairs"][()].astype(np.int64) if "pairs" in g else None,
                task=str(g.attrs.get("task", "paired")),
            )
        return sets
    empty = np.zeros((f["test"].shape[0], 0))
    return {
        "test": QuerySet(
            name="test",
            queries=f["test"][()],
            neighbors=f["neighbors"][()].astype(np.int64) if "neighbors" in f else empty.astype(np.int64),
            distances=f["distances"][()].astype(np.float32) if "distances" in f else empty.astype(np.float32),
        )
    }


class RowReader:
    """Rows of an HDF5 dataset by id, in any order and any index shape, without loading it whole.

    h5py reads a long list of row ids one selection at a time (seconds for tens
    of thousands of rows); reading the covering spans slab by slab and picking
    rows from them is many times faster, in bounded memory. Slices pass through.
    ``convert`` turns raw rows into what a loaded dataset holds (normalised,
    packed); ``keep`` holds whatever must stay open (the file).
    """

    def __init__(self, dset, convert=None, keep=None, slab: int = 4096):
        self.dset, self.convert, self.keep, self.slab = dset, convert, keep, slab
        first = self._convert(dset[0:1]) if dset.shape[0] else np.zeros((0, *dset.shape[1:]), dset.dtype)
        self.shape, self.dtype = (dset.shape[0], *first.shape[1:]), first.dtype

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        return rows if self.convert is None else self.convert(rows)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._convert(self.dset[key])
        if isinstance(key, tuple):
            raise TypeError("RowReader reads whole rows: index it with one slice or one array of row ids")
        ids = np.asarray(key)
        if ids.dtype == bool:  # a mask over the rows, as numpy reads one
            ids = np.flatnonzero(ids)
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.shape[0]):
            raise IndexError(f"row ids must lie in [0, {self.shape[0]})")
        rows = ids.ravel()
        if not rows.size:
            return np.empty((*ids.shape, *self.shape[1:]), dtype=self.dtype)
        order = np.argsort(rows, kind="stable")
        out = np.empty((rows.size, *self.dset.shape[1:]), dtype=self.dset.dtype)
        sorted_rows = rows[order]
        i = 0
        while i < sorted_rows.size:
            first = sorted_rows[i]
            j = np.searchsorted(sorted_rows, first - first % self.slab + self.slab)
            span = self.dset[first:sorted_rows[j - 1] + 1]
            out[order[i:j]] = span[sorted_rows[i:j] - first]
            i = j
        out = self._convert(out)
        return out.reshape(*ids.shape, *out.shape[1:])


def _converter(metric: str, point_type: str, dimension: int, what: str):
    """What loading does to stored rows: pack bits, normalise angular, or make float32."""
    if point_type == "bit" or metric in BINARY_METRICS:  # packed uint8, whichever way it was stored
        from annbench.data.bits import packed_bits

        return lambda x: packed_bits(x, dimension, what)
    if metric == "angular":
        from annbench.data.validate import normalize_rows

        return lambda x: normalize_rows(x, what)
    return lambda x: np.ascontiguousarray(x, dtype=np.float32)


def read_dataset(path: str | os.PathLike, name: str | None = None, lazy_base: bool = False) -> Dataset:
    """Load a dataset; angular vectors that are not unit-norm are normalised here, once.

    ``lazy_base``: ``xb`` is a :class:`RowReader` over the open file (rows read and
    converted when indexed) instead of an array, for a base too large to load.
    """
    path = Path(path)
    f = open_h5(path)
    try:
        ds = _read(f, path, name, lazy_base)
    except BaseException:
        f.close()
        raise
    if not lazy_base:
        f.close()
    return ds


def _read(f: h5py.File, path: Path, name: str | None, lazy_base: bool) -> Dataset:
    require_layout(f, path)
    metric = str(f.attrs["distance"])
    point_type = "bit" if metric in BINARY_METRICS else str(f.attrs.get("point_type", "float"))
    dimension = int(f.attrs.get("dimension", f["train"].shape[-1]))
    convert = _converter(metric, point_type, dimension, "train")
    xb = RowReader(f["train"], convert, keep=f) if lazy_base else convert(f["train"][()])
    sets = _query_sets(f)
    for qs in sets.values():
        qs.queries = _converter(metric, point_type, dimension, f"query set {qs.name!r}")(qs.queries)
    ext = f[EXT].attrs if EXT in f else {}
    return Dataset(
        name=name or path.stem,
        metric=metric,
        xb=xb,
        query_sets=sets,
        base_modality=str(ext.get("base_modality", "unknown")),
        base_labels=_strings(f[EXT]["base_labels"]) if EXT in f and "base_labels" in f[EXT] else None,
        point_type=point_type,
        attrs={k: (v.decode() if isinstance(v, bytes) else v) for k, v in dict(ext).items()},
        attributes=read_attributes(f),
    )


FINGERPRINT_VERSION = "fp2"  # fingerprints of another version are not compared


def sample_fingerprint(path: str | os.PathLike, rows: int = 256) -> str:
    """A cheap identity of a dataset file's contents: metric, shapes, ``rows`` base rows spread
    over the file, and the queries of every query set. Two files made with other sizes or seeds differ here."""
    import hashlib

    path = Path(path)
    h = hashlib.blake2b(digest_size=16)
    with open_h5(path) as f:
        require_layout(f, path)
        train, test = f["train"], f["test"]
        h.update(f"{f.attrs['distance']}:{f.attrs.get('dimension', '')}:{train.shape}:{train.dtype}:"
                 f"{test.shape}:{test.dtype};".encode())
        ids = np.unique(np.linspace(0, max(train.shape[0] - 1, 0), rows).astype(np.int64))
        sets = [f[EXT]["query_sets"][name]["test"] for name in _order(f)] \
            if EXT in f and "query_sets" in f[EXT] else [test]
        for block in (RowReader(train)[ids] if train.shape[0] else np.zeros(0), *(s[()] for s in sets)):
            h.update(memoryview(np.ascontiguousarray(block)).cast("B"))
    return f"{FINGERPRINT_VERSION}-{h.hexdigest()}"


def same_fingerprint_version(a: str, b: str) -> bool:
    return a.split("-", 1)[0] == b.split("-", 1)[0] if "-" in a and "-" in b else "-" not in a and "-" not in b


def describe(path: str | os.PathLike) -> dict:
    """Shape and metadata without loading the vectors (for ``datasets list``)."""
    path = Path(path)
    with open_h5(path) as f:
        require_layout(f, path)
        sets = {}
        if EXT in f and "query_sets" in f[EXT]:
            for name in _order(f):
                g = f[EXT]["query_sets"][name]
                sets[name] = (g["test"].shape[0], g["neighbors"].shape[1], str(g.attrs.get("modality", "")))
        else:
            depth = f["neighbors"].shape[1] if "neighbors" in f else 0
            sets["test"] = (f["test"].shape[0], depth, "")
        return {
            "name": path.stem,
            "n": int(f["train"].shape[0]),
            "d": int(f.attrs.get("dimension", f["train"].shape[1])),
            "metric": str(f.attrs["distance"]),
            "point_type": str(f.attrs.get("point_type", "float")),
            "query_sets": sets,
            "parent": str(f[EXT].attrs.get("parent", "")) if EXT in f else "",
        }


class DatasetWriter:
    """Fill an HDF5 dataset in pieces (the base may be larger than memory)."""

    def __init__(self, f: h5py.File):
        self.f = f
        self.ext = f.require_group(EXT)
        self.order: list[str] = []

    def create_base(self, n: int, d: int, dtype=np.float32) -> h5py.Dataset:
        chunk_rows = max(1, min(n, (1 << 20) // max(1, d * np.dtype(dtype).itemsize)))
        return self.f.create_dataset("train", shape=(n, d), dtype=dtype, chunks=(chunk_rows, d))

    def set_base_labels(self, labels: list[str] | None) -> None:
        if labels is not None:
            self.ext.create_dataset("base_labels", data=np.array(labels, dtype=object), dtype=_STR)

    def add_query_set(self, qs: QuerySet) -> None:
        g = self.ext.require_group("query_sets").create_group(qs.name)
        g.attrs["modality"] = qs.modality
        arrays = {"test": qs.queries, "neighbors": qs.neighbors.astype(np.int32), "distances": qs.distances.astype(np.float32)}
        if not self.order:  # the first set is the ann-benchmarks view
            for key, arr in arrays.items():
                self.f.create_dataset(key, data=arr)
                g[key] = self.f[key]
        else:
            for key, arr in arrays.items():
                g.create_dataset(key, data=arr)
        if qs.labels is not None:
            g.create_dataset("labels", data=np.array(qs.labels, dtype=object), dtype=_STR)
        if qs.pairs is not None:
            g.create_dataset("pairs", data=np.asarray(qs.pairs, dtype=np.int64))
            g.attrs["task"] = qs.task
        self.order.append(qs.name)
        self.ext.attrs["query_set_order"] = np.array(self.order, dtype=object)


@contextlib.contextmanager
def dataset_writer(path: str | os.PathLike, *, metric: str, d: int, point_type: str = "float",
                   base_modality: str = "unknown", force: bool = False, attrs: dict | None = None
                   ) -> Iterator[DatasetWriter]:
    """Write to a temporary file beside ``path``, renamed into place only when complete."""
    path = Path(path)
    if path.exists() and not force:
        raise UserError(f"dataset already exists: {path} (use --force to replace it)")
    remove_stale(path.parent)  # files of a dataset writer killed with kill -9 (never a live writer's)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["distance"] = metric
            f.attrs["dimension"] = d
            f.attrs["point_type"] = point_type
            w = DatasetWriter(f)
            w.ext.attrs["base_modality"] = base_modality
            from annbench import __version__

            w.ext.attrs["annbench_version"] = __version__
            for k, v in (attrs or {}).items():
                w.ext.attrs[k] = v
            yield w


def write_dataset(ds: Dataset, path: str | os.PathLike, force: bool = False) -> Path:

    with dataset_writer(path, metric=ds.metric, d=ds.d, point_type=ds.point_type,
                        base_modality=ds.base_modality, force=force, attrs=ds.attrs) as w:
        w.f.create_dataset("train", data=ds.xb)
        w.set_base_labels(ds.base_labels)
        for name, values in ds.attributes.items():
            write_attribute(w.f, name, values)
        for qs in ds.query_sets.values():
            w.add_query_set(qs)
    return Path(path)

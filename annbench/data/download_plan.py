"""A catalogue entry made concrete: which shards, how many base rows, from which URLs, to which local names."""

from __future__ import annotations

from dataclasses import dataclass

from annbench.data.catalogue import Entry, FileSpec, Rows
from annbench.data.fbin_subset import prefix_bytes
from annbench.errors import UserError


@dataclass(frozen=True)
class Remote:
    url: str
    local: str                        # path inside the dataset's folder
    size: str
    bytes: int | None                 # exact size of the local file, when the format fixes it
    sha256: str | None                # as published
    prefix: int | None = None         # fetch only the first bytes (a rows subset)
    rows: tuple[int, Rows] | None = None  # (n, layout): rewrite the .fbin header's row count to n


@dataclass(frozen=True)
class Plan:
    entry: Entry
    folder: str                       # the dataset's folder inside the datasets directory
    files: tuple[Remote, ...]
    note: str | None = None
    base: str | None = None           # local name of the base a --n cuts (text2image-*)


def rows_label(n: int) -> str:
    """1000000 -> 1M, as big-ann-benchmarks names its subsets."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def make_plan(entry: Entry, *, shards: int | None = None, n: int | None = None,
              url: str | None = None, mirror: str | None = None) -> Plan:
    """``url``: a base replacing every source of the entry; ``mirror``: one holding MIRROR/<name>/<path>."""
    shards = _shards(entry, shards)
    n = _rows(entry, n)
    folder = entry.name if n == entry.rows else f"{entry.family}-{rows_label(n)}"
    files, base = [], None
    for spec in entry.files:
        if spec.for_rows is not None and spec.for_rows != n:
            continue
        for i in range(shards or 1):
            path = spec.path.format(i=i)
            local = (spec.local or spec.path).format(i=i)
            files.append(_remote(spec, path, local, _base(spec, entry, url, mirror), n))
            base = files[-1].local if spec.rows else base
    note = None
    if n is not None and any(s.for_rows for s in entry.files) and not any(s.for_rows == n for s in entry.files):
        note = f"no ground truth is published for the first {rows_label(n)} rows: the importer computes it"
    return Plan(entry, folder, tuple(files), note, base)


def _shards(entry: Entry, shards: int | None) -> int | None:
    if entry.shards is None:
        if shards is not None:
            raise UserError(f"--shards applies to sharded datasets (laion400m-emb), not to {entry.name}")
        return None
    shards = 1 if shards is None else shards
    if not 1 <= shards <= entry.shards:
        raise UserError(f"--shards must be between 1 and {entry.shards} for {entry.name}")
    return shards


def _rows(entry: Entry, n: int | None) -> int | None:
    if entry.rows is None:
        if n is not None:
            raise UserError(f"--n applies to datasets cut by rows (text2image-*), not to {entry.name}")
        return None
    n = entry.rows if n is None else n
    total = next(s.rows.total for s in entry.files if s.rows)
    if not 1 <= n <= total:
        raise UserError(f"--n must be between 1 and {total} for {entry.name}")
    return n


def _base(spec: FileSpec, entry: Entry, url: str | None, mirror: str | None) -> str:
    if url:
        return url.rstrip("/")
    if mirror:
        return f"{mirror.rstrip('/')}/{entry.family or entry.name}"
    return spec.base


def _remote(spec: FileSpec, path: str, local: str, base: str, n: int | None) -> Remote:
    url = f"{base}/{path}"
    if spec.rows is None or n == spec.rows.total:
        return Remote(url, local, spec.size, spec.bytes, spec.sha256)
    layout = spec.rows
    prefix = prefix_bytes(n, layout)
    stem, _, suffix = local.rpartition(".")
    local = f"{stem.rsplit('.', 1)[0]}.{rows_label(n)}.{suffix}"  # base.1B.fbin -> base.10M.fbin
    return Remote(url, local, f"{prefix / 1e9:,.2f} GB", prefix, None, prefix=prefix, rows=(n, layout))

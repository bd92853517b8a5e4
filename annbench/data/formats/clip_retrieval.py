"""clip-retrieval / LAION embedding folders, read shard by shard.

Layout (what ``clip-retrieval inference`` writes and LAION publishes)::

    DIR/img_emb/img_emb_N.npy        image embeddings, float16 or float32, one shard per N
    DIR/text_emb/text_emb_N.npy      caption embeddings, row i paired with image row i
    DIR/metadata/metadata_N.parquet  caption, url, ... one row per image

Shards are taken in N order (``img_emb_2`` before ``img_emb_10``). The dataset
made from them is angular with an image base (the default): ``queries``
held-out captions (query set ``text``) whose paired images stay in the base, so
each caption's pair (its base id) can be found; and ``queries`` held-out images
(query set ``image``) taken out of the base. With a text base (``base="text"``,
image-to-text search) the roles swap: held-out images (query set ``image``)
whose captions stay in the base as their pairs, and held-out captions (query
set ``text``) taken out. Captions label the base and both query sets.

Memory: shards are read through short-lived memory maps (:mod:`.mapped`), a
chunk of ``rows`` vectors and a parquet batch of captions at a time, so the
resident cost is one chunk (``rows`` x d x 4 bytes as float32, plus its raw
copy) and the queries, whatever the number or size of the shards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from annbench.data.formats.mapped import Opener, npy_opener, read_rows, take_rows
from annbench.data.formats.source import QueryInput, Source
from annbench.data.validate import check_finite, check_nonzero
from annbench.errors import UserError

KIND = "clip-retrieval"
PARTS = (("img_emb", ".npy"), ("text_emb", ".npy"), ("metadata", ".parquet"))


@dataclass
class Shard:
    number: int
    start: int  # global row of its first row
    rows: int
    img: Opener
    text: Opener
    img_name: str  # img_emb/img_emb_N.npy, for messages
    metadata: Path


def _files(folder: Path, part: str, suffix: str) -> dict[int, Path]:
    """``{N: path}`` of ``folder/part/part_N.suffix``; a shard with another suffix is refused."""
    sub = folder / part
    if not sub.is_dir():
        raise UserError(f"{KIND} folder {folder}: missing the {part}/ folder")
    found: dict[int, Path] = {}
    for path in sorted(sub.iterdir()):
        m = re.fullmatch(rf"{part}_(\d+)(\..*)?", path.name)
        if not m:
            continue
        if path.suffix != suffix:
            raise UserError(f"{path}: a {part} shard must be {part}_N{suffix}")
        number = int(m.group(1))
        if number in found:
            raise UserError(f"{sub}: two shards numbered {number} ({found[number].name}, {path.name})")
        found[number] = path
    if not found:
        raise UserError(f"{sub}: no {part}_N{suffix} shards")
    return found


def _metadata_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a file that is not parquet
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    if "caption" not in meta.schema_arrow.names:
        raise UserError(f"{path}: no 'caption' column (columns: {', '.join(meta.schema_arrow.names)})")
    return meta.metadata.num_rows


def _embedding(path: Path, what: str, d: int | None) -> tuple[Opener, int, int]:
    opener, shape, dtype = npy_opener(path, what)
    if len(shape) != 2 or 0 in shape:
        raise UserError(f"{path}: expected a non-empty 2-D array (n x d), got shape {shape}")
    if dtype.kind != "f":
        raise UserError(f"{path}: embeddings must be float16 or float32, found {dtype}")
    if d is not None and shape[1] != d:
        raise UserError(f"{path}: dimension {shape[1]} does not match {d} of the first image shard")
    return opener, shape[0], shape[1]


def scan(folder: str | Path) -> tuple[list[Shard], int]:
    """The shards in N order, checked against each other (headers only); and the dimension d."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{KIND} folder not found: {folder}")
    files = {part: _files(folder, part, suffix) for part, suffix in PARTS}
    numbers = sorted(files["img_emb"])
    for part in ("text_emb", "metadata"):
        if sorted(files[part]) != numbers:
            raise UserError(f"{folder}: img_emb has shards {_listed(numbers)} but {part} has {_listed(files[part])}")
    shards, start, d = [], 0, None
    for number in numbers:
        img, rows, d = _embedding(files["img_emb"][number], "image shard", d)
        text, text_rows, _ = _embedding(files["text_emb"][number], "text shard", d)
        meta_rows = _metadata_rows(files["metadata"][number])
        if not rows == text_rows == meta_rows:
            raise UserError(f"{folder}: shard {number} holds {rows} images, {text_rows} text embeddings "
                            f"and {meta_rows} metadata rows (row i of each must be one pair)")
        name = f"img_emb/{files['img_emb'][number].name}"
        shards.append(Shard(number, start, rows, img, text, name, files["metadata"][number]))
        start += rows
    return shards, int(d)


def _listed(numbers) -> str:
    numbers = sorted(numbers)
    return ",".join(map(str, numbers[:8])) + (",..." if len(numbers) > 8 else "")


def _check_raw(raw: np.ndarray, what: str) -> None:
    """NaN, inf and zero rows, named by their row in the shard slice ``what`` before any is held out."""
    check_finite(raw, what)
    check_nonzero(~raw.any(axis=1), what)


def _spans(shards: list[Shard], n: int, rows: int) -> Iterator[tuple[Shard, int, int]]:
    """``(shard, a, b)``: local row ranges of at most ``rows`` covering the first ``n`` rows."""
    for shard in shards:
        stop = min(shard.rows, n - shard.start)
        for a in range(0, max(0, stop), rows):
            yield shard, a, min(stop, a + rows)


def _base_chunks(shards: list[Shard], n: int, held: np.ndarray, side: str, rows: int
                 ) -> Iterator[tuple[str, np.ndarray]]:
    for shard, a, b in _spans(shards, n, rows):
        raw = read_rows(shard.img if side == "img" else shard.text, a, b, dtype=None)
        what = f"{shard.img_name if side == 'img' else shard.img_name.replace('img', 'text')}[{a}:{b}]"
        _check_raw(raw, what)
        keep = _kept(held, shard.start + a, shard.start + b)
        yield what, np.asarray(raw[keep] if keep is not None else raw, dtype=np.float32)


def _kept(held: np.ndarray, g0: int, g1: int) -> np.ndarray | None:
    """Mask of the rows ``g0:g1`` that stay in the base (None: all of them)."""
    lo, hi = np.searchsorted(held, [g0, g1])
    if lo == hi:
        return None
    keep = np.ones(g1 - g0, dtype=bool)
    keep[held[lo:hi] - g0] = False
    return keep


def _caption_batches(shards: list[Shard], n: int, rows: int) -> Iterator[tuple[int, list[str]]]:
    """``(first global row, captions)`` over the first ``n`` rows, one parquet batch at a time."""
    import pyarrow.parquet as pq

    for shard in shards:
        if shard.start >= n:
            return
        pos = shard.start
        for batch in pq.ParquetFile(shard.metadata).iter_batches(batch_size=rows, columns=["caption"]):
            captions = ["" if c is None else str(c) for c in batch.column(0).to_pylist()]
            captions = captions[:max(0, n - pos)]
            if captions:
                yield pos, captions
            pos += batch.num_rows
            if pos >= n:
                return


def _base_labels(shards: list[Shard], n: int, held: np.ndarray, rows: int) -> Iterator[list[str]]:
    for start, captions in _caption_batches(shards, n, rows):
        keep = _kept(held, start, start + len(captions))
        yield captions if keep is None else [c for c, k in zip(captions, keep) if k]


def _captions_at(shards: list[Shard], n: int, ids: np.ndarray, rows: int) -> list[str]:
    """Captions of the global rows ``ids`` (sorted), in one streamed pass over the caption column."""
    out: list[str] = []
    for start, captions in _caption_batches(shards, n, rows):
        lo, hi = np.searchsorted(ids, [start, start + len(captions)])
        out += [captions[i - start] for i in ids[lo:hi]]
    return out


def _take(shards: list[Shard], ids: np.ndarray, side: str) -> np.ndarray:
    """Image or text rows at the global rows ``ids`` (sorted), shard by shard."""
    parts = []
    for shard in shards:
        lo, hi = np.searchsorted(ids, [shard.start, shard.start + shard.rows])
        if hi > lo:
            parts.append(take_rows(shard.img if side == "img" else shard.text, ids[lo:hi] - shard.start))
    return np.concatenate(parts)


def split(n: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows held out of the base, rows queried by their pair's other side)``: disjoint, sorted, seeded."""
    if queries < 1:
        raise UserError(f"--queries must be >= 1, got {queries}")
    if 2 * queries >= n:
        raise UserError(f"--queries {queries}: holding out {queries} images and {queries} captions "
                        f"needs more than {2 * queries} rows; the folder gives {n}")
    drawn = np.random.default_rng(seed).choice(n, 2 * queries, replace=False)
    return np.sort(drawn[:queries]), np.sort(drawn[queries:])


def open_clip_retrieval(folder: str | Path, *, queries: int = 1000, seed: int = 0, max_n: int | None = None,
                        rows: int = 65536, base: str = "image") -> Source:
    """A :class:`Source` of the first ``max_n`` pairs of ``folder`` (all when None), its base the images
    (``base="image"``) or the captions (``base="text"``)."""
    if base not in ("image", "text"):
        raise UserError(f"--base must be image or text, got {base!r}")
    shards, d = scan(folder)
    total = sum(s.rows for s in shards)
    if max_n is not None and max_n < 1:
        raise UserError(f"--max-n must be >= 1, got {max_n}")
    n = total if max_n is None else min(max_n, total)
    held, paired = split(n, queries, seed)
    held_ids = np.sort(np.r_[paired, held])
    caption_of = dict(zip(held_ids.tolist(), _captions_at(shards, n, held_ids, rows)))
    base_side, other_side = ("img", "text") if base == "image" else ("text", "img")
    other = "text" if base == "image" else "image"
    cross = QueryInput(other, _take(shards, paired, other_side), other, [caption_of[i] for i in paired.tolist()],
                       pairs=paired - np.searchsorted(held, paired), task="paired")
    same = QueryInput(base, _take(shards, held, base_side), base, [caption_of[i] for i in held.tolist()])
    kind = "images" if base == "image" else "captions"
    return Source(
        kind=KIND, metric="angular", n=n - len(held), d=d,
        chunks=partial(_base_chunks, shards, n, held, base_side),
        queries=[cross, same] if base == "image" else [same, cross],
        labels=partial(_base_labels, shards, n, held),
        base_modality=base,
        attrs={"source_format": KIND, "source_path": str(Path(folder).resolve()), "source_rows": n,
               "holdout_seed": seed},
        notes=[f"{len(held)} {kind} held out as queries (not in the base); the {len(paired)} {other} queries' "
               f"pairs stay in the base"],
    )

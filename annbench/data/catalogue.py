"""Public datasets that CLIP indexes are benchmarked on: where each file is published, its size and format.

This module is data. Each entry names its source and says which of its URLs are
confirmed and how; no source below publishes sha256 checksums, so the download
computes one at the first download and records it beside the file
(:mod:`annbench.data.checksums`). ``annbench datasets download --list`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from annbench.errors import UserError


@dataclass(frozen=True)
class Rows:
    """A ``.fbin`` base (header: uint32 rows, uint32 d; then float32 rows) that can be cut to its first n rows."""

    total: int
    d: int
    itemsize: int = 4


@dataclass(frozen=True)
class FileSpec:
    path: str                      # under the source's base URL; also the local path. "{i}": the shard number
    base: str                      # the source's base URL
    size: str                      # as published, or estimated (said so)
    bytes: int | None = None       # exact, where the format fixes it; checked
    sha256: str | None = None      # as published
    rows: Rows | None = None       # a base that --n cuts to its first rows
    for_rows: int | None = None    # ground truth of the first this-many base rows only
    local: str | None = None       # the local path, where it is not ``path``


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    format: str                    # ann-benchmarks-hdf5 | vibe-hdf5 | clip-retrieval | bab-fbin
    size: str
    source: str
    confirmed: str                 # which URLs are confirmed, and by what
    files: tuple[FileSpec, ...]
    next_step: str | None = None   # `annbench datasets` subcommand to run next: {folder} the download folder,
    #                                {name} its name, {base} the local name of a Rows file
    note: str | None = None        # said after the download
    shards: int | None = None      # shards published (files hold "{i}"); --shards picks how many
    rows: int | None = None        # default base rows of a Rows file; --n picks others
    family: str | None = None      # folder name stem when --n is given: FAMILY-<n>


ANN_BENCHMARKS = "https://ann-benchmarks.com"
STR_ENCODERS = "https://github.com/fabiocarrara/str-encoders/releases/download/v0.1.3"
VIBE = "https://huggingface.co/datasets/vector-index-bench/vibe/resolve/main"
LAION400M = "https://deploy.laion.ai/8f83b608504d46bb81708ec86e912220/embeddings"
THE_EYE = "https://the-eye.eu/public/AI/cah/laion400m-met-release/laion400m-embeddings"
T2I = "https://storage.yandexcloud.net/yandex-research/ann-datasets/T2I"
T2I_1B_GT = "https://storage.yandexcloud.net/yandex-research/ann-datasets"
BAB_SUBSET_GT = "https://dl.fbaipublicfiles.com/billion-scale-ann-benchmarks"


def _coco(task: str, what: str) -> Entry:
    name = f"coco-{task}-512-angular"
    return Entry(
        name=name,
        title=f"COCO {what}, CLIP ViT-B/16 512-d (ann-benchmarks; 113,287 base, 10,000 queries)",
        format="ann-benchmarks-hdf5",
        size="136 MB",
        source=f"ann-benchmarks ({STR_ENCODERS}/{name}.hdf5)",
        confirmed=(f"confirmed: ann-benchmarks' README dataset table links this URL (136 MB); "
                   f"to be confirmed: {ANN_BENCHMARKS}/{name}.hdf5, where ann-benchmarks' runner looks first "
                   f"(--url {ANN_BENCHMARKS} to use it)"),
        files=(FileSpec(f"{name}.hdf5", STR_ENCODERS, "136 MB"),),
    )


def _vibe(name: str, file: str, title: str, size: str, queries: str) -> Entry:
    return Entry(
        name=name,
        title=title,
        format="vibe-hdf5",
        size=size,
        source=f"VIBE ({VIBE}/{file})",
        confirmed=(f"confirmed: VIBE's runner (vibe/main.py) downloads {VIBE}/NAME.hdf5 and its README links "
                   f"{file}; the size is estimated from its shapes"),
        files=(FileSpec(file, VIBE, size),),
        next_step=f"import-vibe {{folder}}/{file} --name {{name}} --query-set {queries}",
    )


def _laion400m() -> Entry:
    shard = "~1.0 GB (est.: ~1M x 512 float16)"
    return Entry(
        name="laion400m-emb",
        title="LAION-400M CLIP ViT-B/32 image and text embeddings with metadata, by shard (~1M pairs each)",
        format="clip-retrieval",
        size="~2.1 GB per shard (est.)",
        source=f"LAION ({LAION400M}/; the embeddings also at {THE_EYE}/images/ and /texts/)",
        confirmed=("confirmed: the deploy.laion.ai layout (img_emb/img_emb_N.npy, text_emb/text_emb_N.npy, "
                   "metadata/metadata_N.parquet, N = 0..409) is the one ClickHouse's LAION-400M guide and "
                   "TensorFlow Datasets' laion400m builder download; sizes are estimates"),
        files=(FileSpec("img_emb/img_emb_{i}.npy", LAION400M, shard),
               FileSpec("text_emb/text_emb_{i}.npy", LAION400M, shard),
               FileSpec("metadata/metadata_{i}.parquet", LAION400M, "not published")),
        next_step="import-clip-retrieval {folder} --name {name}",
        shards=410,
    )


def _text2image(rows: int, label: str) -> Entry:
    base = Rows(total=1_000_000_000, d=200)
    files = (FileSpec("base.1B.fbin", T2I, "800 GB", bytes=8 + base.total * base.d * base.itemsize, rows=base),
             FileSpec("query.public.100K.fbin", T2I, "80 MB", bytes=8 + 100_000 * 200 * 4),
             FileSpec("GT_10M/text2image-10M", BAB_SUBSET_GT, "~80 MB", for_rows=10_000_000, local="text2image-10M"),
             FileSpec("GT_100M/text2image-100M", BAB_SUBSET_GT, "~80 MB", for_rows=100_000_000,
                      local="text2image-100M"),
             FileSpec("t2i_new_groundtruth.public.100K.bin", T2I_1B_GT, "~80 MB", for_rows=1_000_000_000))
    total = 8 + rows * base.d * base.itemsize + files[1].bytes + (80e6 if any(f.for_rows == rows for f in files) else 0)
    return Entry(
        name=f"text2image-{label}",
        title=(f"Yandex Text-to-Image (big-ann-benchmarks): {'all' if rows == base.total else 'the first'} {label} "
               "image vectors of base.1B.fbin, "
               "100K text queries, 200-d, inner product"),
        format="bab-fbin",
        size=f"~{total / 1e9:,.1f} GB",
        source=f"big-ann-benchmarks Text2Image1B ({T2I}/)",
        confirmed=("confirmed: big-ann-benchmarks' benchmark/datasets.py (Text2Image1B) names these URLs and cuts "
                   "smaller bases as the first rows of base.1B.fbin with the header's row count rewritten; "
                   "ground truth is published for 10M, 100M and 1B rows, not for 1M"),
        files=files,
        next_step=("import-bab {name} --base {folder}/{base} --queries {folder}/query.public.100K.fbin "
                   "--metric angular --query-set text"),
        note=("big-ann-benchmarks ranks this set by inner product (its ground truth files); annbench compares "
              "by cosine, so the import computes its own truth"),
        rows=rows,
        family="text2image",
    )


CATALOGUE: tuple[Entry, ...] = (
    _coco("t2i", "captions to images"),
    _coco("i2i", "images to images"),
    _vibe("laion-clip-512", "laion-clip-512-normalized.hdf5",
          "LAION-400M shard 0, CLIP ViT-B/32 512-d (VIBE, out-of-distribution: 1,000,448 images, "
          "1,000 text queries, ~1M more texts as a learn set)",
          "~4.5 GB (est.)", "text"),
    _vibe("imagenet-clip-512", "imagenet-clip-512-normalized.hdf5",
          "ImageNet train images, CLIP ViT-B/32 512-d (VIBE, in-distribution: 1,281,167 images)",
          ">= 2.6 GB (est.)", "image"),
    _laion400m(),
    _text2image(1_000_000, "1M"),
    _text2image(10_000_000, "10M"),
    _text2image(1_000_000_000, "1B"),
)


def lookup(name: str) -> Entry:
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    names = ", ".join(e.name for e in CATALOGUE)
    raise UserError(f"no dataset {name!r} in the catalogue (one of: {names}; see `annbench datasets download --list`)")

"""The built-in dataset "clip-synth": CLIP-like vectors, generated and written chunk by chunk.

The base is images; the two query sets are text-to-image ("text", first, so it
is the ann-benchmarks root ``test``) and image-to-image ("image": fresh images
from the same distribution, not in the base). Memory stays bounded by one
chunk plus the fixed model, so the base can be far larger than RAM: the base is
written to the HDF5 file as it is generated and the ground truth
(:mod:`annbench.groundtruth.build_synth`) streams it back. The geometry lives in
:mod:`annbench.data.synth_geometry`; a model fitted to a sample of the user's own
vectors (``--like``, :mod:`annbench.data.synth_fit`) is written the same way, its
rows drawn by :mod:`annbench.data.synth_tree` and its parameters kept in the attrs.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import numpy as np

from annbench.data.hdf5io import DatasetWriter, dataset_writer
from annbench.data.synth_fitted import FittedModel
from annbench.data.attributes import write_attribute
from annbench.data.synth_geometry import FIT_D, SynthModel, build_model, concepts, generate
from annbench.data.synth_tree import TreeGenerator, tree_block
from annbench.errors import UserError

if TYPE_CHECKING:
    import h5py

NAME = "clip-synth"
VERSION = 1                 # bump when the same arguments would give other vectors
LIKE_NAME = "clip-synth-like"  # the generator attr of a dataset fitted to a sample (--like)
LIKE_VERSION = 3  # 2: tau, per-node scaling of latent directions in the top tree levels; 3: top levels evened
CHUNK = 65536               # base rows generated and written at a time
STREAMS = {"base": 0, "image": 1, "text": 2}
LIKE_STREAMS = {"base": 0, "same": 1, "other": 2}  # a fitted model's: queries of the base's modality, of the other


def _check(n: int, nq: int, k: int, chunk: int) -> None:
    for name, value in (("n", n), ("nq", nq), ("k", k), ("chunk", chunk)):
        if value < 1:
            raise UserError(f"clip-synth: {name} must be >= 1, got {value}")


def _queries(model: SynthModel, nq_text: int, nq_image: int) -> dict[str, np.ndarray]:
    return {
        "text": generate(model, "text", STREAMS["text"], 0, nq_text),
        "image": generate(model, "image", STREAMS["image"], 0, nq_image),
    }


def sample_clip_synth(n: int, nq: int, d: int = FIT_D, seed: int = 0, *, nq_image: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xb, xq_text, xq_image)`` in memory, for tests: the same vectors as the file of those arguments."""
    model = build_model(d, seed)
    queries = _queries(model, nq, nq if nq_image is None else nq_image)
    return generate(model, "image", STREAMS["base"], 0, n), queries["text"], queries["image"]


@contextmanager
def _synth_writer(path, d: int, base: str, n: int, chunk: int, attrs: dict, force: bool, rows
                  ) -> Iterator[tuple[DatasetWriter, h5py.Dataset]]:
    """An angular dataset at ``path`` whose base, ``rows(start, stop)``, is written ``chunk`` rows at a time."""
    with dataset_writer(path, metric="angular", d=d, base_modality=base, force=force, attrs=attrs) as writer:
        train = writer.create_base(n, d)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            train[start:stop] = rows(start, stop)
        yield writer, train


@contextmanager
def synth_file(path: str | os.PathLike, n: int, nq: int, d: int = FIT_D, seed: int = 0, k: int = 100,
               force: bool = False, chunk: int = CHUNK
               ) -> Iterator[tuple[DatasetWriter, h5py.Dataset, dict[str, np.ndarray]]]:
    """Open clip-synth at ``path`` (angular, unit-norm float32) with its base written ``chunk`` rows at a time.

    Yields ``(writer, train, queries)``: the open dataset writer, its on-disk
    ``train`` rows, and ``nq`` queries per query set (text first), to which the
    caller adds the query sets with their truth of depth ``k`` (checked here,
    with the sizes, before anything is written). The same arguments give the
    same vectors, byte for byte, whatever ``chunk`` is.
    """
    _check(n, nq, k, chunk)
    model = build_model(d, seed)
    queries = _queries(model, nq, nq)
    attrs = {"generator": NAME, "generator_version": VERSION, "seed": seed}
    with _synth_writer(path, d, "image", n, chunk, attrs, force,
                       lambda start, stop: generate(model, "image", STREAMS["base"], start, stop)) as (writer, train):
        write_attribute(writer.f, "concept", concepts(model, "image", STREAMS["base"], 0, n))
        yield writer, train, queries


def like_queries(gen: TreeGenerator, nq: int) -> dict[str, np.ndarray]:
    """A fitted model's query sets: the other modality's first (cross-modal, the ann-benchmarks ``test``),
    then fresh rows of the base's modality."""
    base, other = gen.model.base, gen.model.other
    sets = {other: generate(gen, other, LIKE_STREAMS["other"], 0, nq, block=tree_block)} if other else {}
    sets[base] = generate(gen, base, LIKE_STREAMS["same"], 0, nq, block=tree_block)
    return sets


def sample_like(model: FittedModel, n: int, nq: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(xb, queries)`` of a fitted model in memory: the same vectors as its file of those arguments."""
    gen = TreeGenerator(model, seed)
    return generate(gen, model.base, LIKE_STREAMS["base"], 0, n, block=tree_block), like_queries(gen, nq)


@contextmanager
def synth_like_file(path: str | os.PathLike, model: FittedModel, n: int, nq: int, seed: int = 0, k: int = 100,
                    force: bool = False, chunk: int = CHUNK
                    ) -> Iterator[tuple[DatasetWriter, h5py.Dataset, dict[str, np.ndarray]]]:
    """As :func:`synth_file`, for a model fitted to a sample (``--like``); the file's attrs hold the model."""
    _check(n, nq, k, chunk)
    gen = TreeGenerator(model, seed)
    queries = like_queries(gen, nq)
    attrs = {"generator": LIKE_NAME, "generator_version": LIKE_VERSION, "seed": seed, **model.to_attrs()}
    def rows(start: int, stop: int) -> np.ndarray:
        return generate(gen, model.base, LIKE_STREAMS["base"], start, stop, block=tree_block)

    with _synth_writer(path, model.d, model.base, n, chunk, attrs, force, rows) as (writer, train):
        yield writer, train, queries

"""The built-in dataset "clip-synth": CLIP-like vectors, generated and written chunk by chunk.

The base is images; the two query sets are text-to-image ("text", first, so it
is the ann-benchmarks root ``test``) and image-to-image ("image": fresh images
from the same distribution, not in the base). Memory stays bounded by one
chunk plus the fixed model, so the base can be far larger than RAM: the base is
written to the HDF5 file as it is generated and the ground truth
(:mod:`annbench.groundtruth.build_synth`) streams it back. The geometry lives in
:mod:`annbench.data.synth_geometry`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import numpy as np

from annbench.data.hdf5io import DatasetWriter, dataset_writer
from annbench.data.synth_geometry import FIT_D, SynthModel, build_model, generate
from annbench.errors import UserError

if TYPE_CHECKING:
    import h5py

NAME = "clip-synth"
VERSION = 1                 # bump when the same arguments would give other vectors
CHUNK = 65536               # base rows generated and written at a time
STREAMS = {"base": 0, "image": 1, "text": 2}


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
    with dataset_writer(path, metric="angular", d=d, base_modality="image", force=force, attrs=attrs) as writer:
        train = writer.create_base(n, d)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            train[start:stop] = generate(model, "image", STREAMS["base"], start, stop)
        yield writer, train, queries

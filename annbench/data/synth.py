"""The built-in dataset "clip-synth": CLIP-like vectors, written chunk by chunk with exact ground truth.

The base is images; the two query sets are text-to-image ("text", first, so it
is the ann-benchmarks root ``test``) and image-to-image ("image": fresh images
from the same distribution, not in the base). Memory stays bounded by one
chunk plus the fixed model, so the base can be far larger than RAM: the base is
written to the HDF5 file as it is generated and the ground truth streams it
back. The geometry lives in :mod:`annbench.data.synth_geometry`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from annbench.data.hdf5io import RowReader, dataset_writer
from annbench.data.model import QuerySet
from annbench.data.synth_geometry import FIT_D, SynthModel, build_model, generate
from annbench.errors import UserError
from annbench.groundtruth import exact_knn

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


def make_clip_synth(path: str | os.PathLike, n: int = 100_000, nq: int = 1000, d: int = FIT_D, seed: int = 0,
                    k: int = 100, force: bool = False, chunk: int = CHUNK) -> Path:
    """Write clip-synth to ``path`` (angular, unit-norm float32) with exact top-``min(k, n)`` ground truth.

    ``nq`` queries per query set. The same arguments give the same vectors, byte
    for byte, whatever ``chunk`` is.
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
        xq = np.vstack(list(queries.values()))
        D, I = exact_knn(RowReader(train), xq, min(k, n), "angular", block=chunk)
        offset = 0
        for name, xq in queries.items():
            part = slice(offset, offset + len(xq))
            writer.add_query_set(QuerySet(name, xq, I[part], D[part], modality=name))
            offset += len(xq)
    return Path(path)

"""Pipeline: the clip-synth dataset file with exact ground truth streamed back from its on-disk base."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from annbench.data.hdf5io import RowReader
from annbench.data.model import QuerySet
from annbench.data.synth import CHUNK, synth_file
from annbench.data.synth_geometry import FIT_D
from annbench.groundtruth.exact import exact_knn


def make_clip_synth(path: str | os.PathLike, n: int = 100_000, nq: int = 1000, d: int = FIT_D, seed: int = 0,
                    k: int = 100, force: bool = False, chunk: int = CHUNK) -> Path:
    """Write clip-synth to ``path`` (angular, unit-norm float32) with exact top-``min(k, n)`` ground truth.

    ``nq`` queries per query set. The same arguments give the same vectors, byte
    for byte, whatever ``chunk`` is; the truth reads the base back ``chunk`` rows
    at a time, so memory stays bounded by one chunk whatever ``n`` is.
    """
    with synth_file(path, n, nq, d, seed, k, force, chunk) as (writer, train, queries):
        xq = np.vstack(list(queries.values()))
        D, I = exact_knn(RowReader(train), xq, min(k, n), "angular", block=chunk)
        offset = 0
        for name, xq in queries.items():
            part = slice(offset, offset + len(xq))
            writer.add_query_set(QuerySet(name, xq, I[part], D[part], modality=name))
            offset += len(xq)
    return Path(path)

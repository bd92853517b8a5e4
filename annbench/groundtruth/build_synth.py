"""Pipeline: the clip-synth dataset file (built-in, or fitted to a sample with ``--like``) with exact
ground truth streamed back from its on-disk base."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from annbench.data.hdf5io import DatasetWriter, RowReader
from annbench.data.model import QuerySet
from annbench.data.synth import CHUNK, synth_file, synth_like_file
from annbench.data.synth_fit import SAMPLE, fit_model, read_sample
from annbench.data.synth_fitted import FittedModel
from annbench.data.synth_geometry import FIT_D
from annbench.errors import UserError
from annbench.groundtruth.exact import exact_knn
from annbench.groundtruth.fit_check import check_fit


def _add_truth(writer: DatasetWriter, train, queries: dict[str, np.ndarray], k: int, chunk: int) -> None:
    """Each query set with its exact top-``min(k, n)``, the on-disk base read back ``chunk`` rows at a time."""
    xq = np.vstack(list(queries.values()))
    D, I = exact_knn(RowReader(train), xq, min(k, train.shape[0]), "angular", block=chunk)
    offset = 0
    for name, xq in queries.items():
        part = slice(offset, offset + len(xq))
        writer.add_query_set(QuerySet(name, xq, I[part], D[part], modality=name))
        offset += len(xq)


def make_clip_synth(path: str | os.PathLike, n: int = 100_000, nq: int = 1000, d: int = FIT_D, seed: int = 0,
                    k: int = 100, force: bool = False, chunk: int = CHUNK) -> Path:
    """Write clip-synth to ``path`` (angular, unit-norm float32) with exact top-``min(k, n)`` ground truth.

    ``nq`` queries per query set. The same arguments give the same vectors, byte
    for byte, whatever ``chunk`` is; the truth reads the base back ``chunk`` rows
    at a time, so memory stays bounded by one chunk whatever ``n`` is.
    """
    with synth_file(path, n, nq, d, seed, k, force, chunk) as (writer, train, queries):
        _add_truth(writer, train, queries, k, chunk)
    return Path(path)


def make_clip_synth_like(path: str | os.PathLike, like: str | os.PathLike, n: int = 100_000, nq: int = 1000,
                         sample: int = SAMPLE, seed: int = 0, k: int = 100, force: bool = False,
                         chunk: int = CHUNK) -> Path:
    """clip-synth fitted to up to ``sample`` rows per modality of the dataset file ``like``, at any ``n``.

    The base has the base's modality; the query sets are the other modality's
    (when ``like`` has query sets of another modality) and fresh rows of the
    base's, ``nq`` each, with exact truth as :func:`make_clip_synth`. The fitted
    model is stored in the file's attrs (:func:`annbench.data.synth_fitted.read_fitted`),
    with the check of the fit at the sample's size in its source (``check``;
    :mod:`annbench.groundtruth.fit_check`).
    """
    if Path(path).exists() and not force:  # before the fit, which takes a while
        raise UserError(f"dataset already exists: {path} (use --force to replace it)")
    samples, source = read_sample(like, sample, seed)
    model = fit_model(samples, seed, source)
    model = replace(model, source=model.source | {"check": check_fit(model, samples, seed)})
    return write_clip_synth_like(path, model, n, nq, seed, k, force, chunk)


def write_clip_synth_like(path: str | os.PathLike, model: FittedModel, n: int, nq: int = 1000, seed: int = 0,
                          k: int = 100, force: bool = False, chunk: int = CHUNK) -> Path:
    """The dataset of an already fitted model (the same rows for the same model, seed and n)."""
    with synth_like_file(path, model, n, nq, seed, k, force, chunk) as (writer, train, queries):
        _add_truth(writer, train, queries, k, chunk)
    return Path(path)

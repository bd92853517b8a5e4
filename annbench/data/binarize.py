"""Binary codes of a float dataset: sign, ITQ or random-projection LSH, one bit per sign.

Every method projects, then keeps the sign. The base is centred first: CLIP
vectors share a large mean direction (|mean| ~0.7), and signs taken around it
say mostly "like every other vector". Queries are NOT centred by default:
``q . (x - mean)`` ranks the base exactly as ``q . x`` (``q . mean`` is one
constant per query), whereas subtracting the *image* mean from a *text* query
moves it across the modality gap (measured on the real text-to-image set, the
recall@10 of sign codes against the float truth drops from 0.28 to 0.18).
``center_queries=True`` centres them too, which suits in-modal queries.

The written file keeps both truths: the binary one (exact, for recall of the
code index itself, computed by :mod:`annbench.groundtruth.build_binary`) and
the parent's float one (for what a user of CLIP search gets), and a checked
link to the parent for re-ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from annbench.data.bits import check_bits
from annbench.data.hdf5io import dataset_writer
from annbench.data.model import BINARY_METRICS, FLOAT_METRICS, Dataset
from annbench.data.parent import link_attrs, write_float_truth
from annbench.errors import UserError

METHODS = ("sign", "itq", "lsh")
ITQ_ITERATIONS = 50   # the ITQ paper's setting
ITQ_TRAIN = 65536     # vectors sampled to learn PCA and rotation


@dataclass
class Encoder:
    """``bit_j(x) = [project(x - mean)_j > 0]`` for the base; queries skip ``- mean`` unless ``center_queries``."""

    mean: np.ndarray
    project: Callable[[np.ndarray], np.ndarray]
    center_queries: bool

    def encode(self, x: np.ndarray, queries: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if not queries or self.center_queries:
            x = x - self.mean
        return np.packbits(self.project(np.ascontiguousarray(x)) > 0, axis=1)


def _itq(xc: np.ndarray, bits: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """PCA to ``bits`` dimensions, then the rotation whose signs lose least (Gong & Lazebnik's ITQ).

    Written with numpy's LAPACK rather than faiss's ITQTransform: at 512 bits on
    1000 CLIP vectors faiss took 110 s on this project's 2-core machine, numpy 11 s.
    Both run the same alternation: fix the rotation and take signs, fix the signs
    and solve the orthogonal Procrustes problem by SVD.
    """
    n, d = xc.shape
    if bits > d:
        raise UserError(f"itq: --bits {bits} exceeds the dimension d={d} (PCA cannot add dimensions; use lsh)")
    if n < bits:
        raise UserError(f"itq: {n} base vectors cannot give {bits} principal components (needs at least {bits})")
    rng = np.random.default_rng(seed)
    sample = xc if n <= ITQ_TRAIN else xc[rng.choice(n, ITQ_TRAIN, replace=False)]
    sample = sample.astype(np.float64)
    _, vectors = np.linalg.eigh(sample.T @ sample)
    pca = vectors[:, ::-1][:, :bits]                       # leading components first
    v = sample @ pca
    rotation, _ = np.linalg.qr(rng.standard_normal((bits, bits)))
    for _ in range(ITQ_ITERATIONS):
        signs = np.where(v @ rotation >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(v.T @ signs)
        rotation = u @ wt
    projection = (pca @ rotation).astype(np.float32)
    return lambda x: x @ projection


def fit_encoder(method: str, xb: np.ndarray, bits: int, seed: int = 0, center_queries: bool = False) -> Encoder:
    """Learn the projection of ``method`` from the base."""
    check_bits(bits)
    d = xb.shape[1]
    mean = xb.mean(axis=0, dtype=np.float64).astype(np.float32)
    if method == "sign":
        if bits != d:
            raise UserError(f"sign: one bit per dimension gives {d} bits, not {bits} (use itq or lsh for other sizes)")
        project: Callable[[np.ndarray], np.ndarray] = lambda x: x  # noqa: E731
    elif method == "itq":
        project = _itq(xb - mean, bits, seed)
    elif method == "lsh":
        planes = np.random.default_rng(seed).standard_normal((d, bits)).astype(np.float32)
        project = lambda x: x @ planes  # noqa: E731
    else:
        raise UserError(f"unknown binarization method {method!r} (use {', '.join(METHODS)})")
    return Encoder(mean, project, center_queries)


def _check_parent(parent: Dataset, distance: str) -> None:
    if parent.point_type == "bit" or parent.metric not in FLOAT_METRICS:
        raise UserError(f"dataset {parent.name!r} is already binary ({parent.metric}): binarize a float dataset")
    if distance not in BINARY_METRICS:
        raise UserError(f"unknown binary distance {distance!r} (use {', '.join(BINARY_METRICS)})")


@dataclass
class Codes:
    """A float dataset's binary codes, before any truth is computed on them."""

    name: str
    xb: np.ndarray                  # packed base codes
    queries: dict[str, np.ndarray]  # packed query codes per query set, in the parent's order
    attrs: dict                     # how they were made (method, bits, seed, center_queries)


def encode_parent(parent: Dataset, method: str, bits: int | None = None, distance: str = "hamming",
                  seed: int = 0, center_queries: bool = False) -> Codes:
    """Codes of the base and of every query set, ``bits`` long (default: the parent's dimension)."""
    _check_parent(parent, distance)
    bits = parent.d if bits is None else bits
    enc = fit_encoder(method, parent.xb, bits, seed, center_queries)
    xb = enc.encode(parent.xb)
    queries = {name: enc.encode(qs.queries, queries=True) for name, qs in parent.query_sets.items()}
    attrs = {"binarize_method": method, "bits": bits, "binarize_seed": seed,
             "center_queries": bool(center_queries)}
    return Codes(f"{parent.name}-{method}{bits}", xb, queries, attrs)


def write_binary(ds: Dataset, float_truths: dict[str, tuple], parent: Dataset, parent_path: Path,
                 out: Path, force: bool = False) -> Path:
    """Write in the ann-benchmarks layout (packed codes), plus the float truth and the parent link."""
    attrs = {**ds.attrs, **link_attrs(parent, parent_path, out)}
    with dataset_writer(out, metric=ds.metric, d=int(ds.attrs["bits"]), point_type="bit",
                        base_modality=ds.base_modality, force=force, attrs=attrs) as w:
        w.f.create_dataset("train", data=ds.xb)
        w.set_base_labels(ds.base_labels)
        for name, qs in ds.query_sets.items():
            w.add_query_set(qs)
            write_float_truth(w.ext["query_sets"][name], *float_truths[name])
    return Path(out)

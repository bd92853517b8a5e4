"""What the faiss backends share: metric constant, threads, measured size, faiss's
error sentence, -1 padding."""

from __future__ import annotations

import re

import faiss
import numpy as np

from annbench.errors import UserError

_METRICS = {"angular": faiss.METRIC_INNER_PRODUCT, "euclidean": faiss.METRIC_L2}
_FLT_MAX = float(np.finfo(np.float32).max)


def metric_type(metric: str) -> int:
    """Angular data arrives unit-norm, so inner product ranks exactly as cosine."""
    if metric not in _METRICS:
        raise UserError(f"unknown metric {metric!r} (use angular or euclidean)")
    return _METRICS[metric]


def set_threads(threads: int) -> None:
    """faiss's OpenMP pool is process-wide: the index made last sets it for all."""
    if threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}")
    faiss.omp_set_num_threads(threads)


def index_bytes(index: faiss.Index) -> int:
    """Size of the serialised index: a measurement, not a formula per index type."""
    return int(faiss.serialize_index(index).size)


def faiss_message(exc: Exception) -> str:
    """faiss's own sentence, without the C++ signature, file and line that precede it."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^Error in .*? at \S+:\d+: ", "", text)
    return re.sub(r"^Error: '.*?' failed: ", "", text)


def search_capped(index: faiss.Index, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search at most ntotal deep, then pad with -1 the way faiss pads.

    faiss's NSG fills its candidate pool with random distinct ids and loops forever
    when the pool is deeper than the base; capping k avoids that for every index.
    """
    depth = min(k, max(index.ntotal, 1))
    D, I = index.search(xq, depth)
    if depth == k:
        return D, I
    worst = -_FLT_MAX if index.metric_type == faiss.METRIC_INNER_PRODUCT else _FLT_MAX
    D_out = np.full((len(xq), k), worst, dtype=np.float32)
    I_out = np.full((len(xq), k), -1, dtype=np.int64)
    D_out[:, :depth], I_out[:, :depth] = D, I
    return D_out, I_out

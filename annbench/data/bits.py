"""Bit vectors, packed 8 to a byte (``np.packbits`` order), and their exact distances.

Every binary code in annbench is a C-contiguous ``uint8`` array of ``bits / 8``
bytes per row; ann-benchmarks' own bit datasets hold unpacked booleans and are
packed once, on load. Distances follow ann-benchmarks: Hamming is the number
of differing bits, Jaccard is ``1 - |a & b| / |a | b|`` (Tanimoto's distance),
with two empty vectors at distance 0.
"""

from __future__ import annotations

import numpy as np

from annbench.errors import UserError


def check_bits(bits: int) -> int:
    """faiss and usearch address codes by whole bytes, so a bit count must be a multiple of 8."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 8 or bits % 8:
        raise UserError(f"bit count must be a positive multiple of 8, got {bits!r}")
    return int(bits)


def packed_bits(x, bits: int, what: str) -> np.ndarray:
    """Stored bit vectors as packed uint8: booleans (ann-benchmarks) are packed, packed bytes kept."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise UserError(f"{what}: bit vectors must be a 2-D array, got shape {x.shape} "
                        "(sparse ann-benchmarks bit sets are not supported)")
    check_bits(bits)
    if x.dtype == np.bool_ and x.shape[1] == bits:
        return np.packbits(x, axis=1)
    if x.dtype == np.uint8 and x.shape[1] * 8 == bits:
        return np.ascontiguousarray(x)
    if x.dtype.kind in "iu" and x.shape[1] == bits and x.size and x.min() >= 0 and x.max() <= 1:
        return np.packbits(x.astype(bool), axis=1)  # 0/1 integers, unpacked
    raise UserError(f"{what}: a bit dataset needs booleans ({bits} columns) or packed uint8 "
                    f"({bits // 8} columns); found {x.dtype} with {x.shape[1]} columns")


def require_codes(x: np.ndarray, what: str, nbytes: int | None = None) -> np.ndarray:
    """Guard for binary indexes: float vectors here mean a float dataset reached a binary index."""
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 2:
        raise UserError(f"{what}: expected packed binary codes (uint8, n x bytes), got {x.dtype} {x.shape}")
    if nbytes is not None and x.shape[1] != nbytes:
        raise UserError(f"{what}: {x.shape[1]} bytes per code, the index holds {nbytes}")
    return np.ascontiguousarray(x)


def dimension(xb: np.ndarray, point_type: str) -> int:
    """The number of coordinates an index sees: bits for packed codes, columns otherwise."""
    return int(xb.shape[1]) * 8 if point_type == "bit" else int(xb.shape[1])


def _words(x: np.ndarray) -> np.ndarray:
    """View codes as 64-bit words where the width allows: 8x fewer popcounts."""
    return x.view(np.uint64) if x.shape[1] % 8 == 0 else x


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per row."""
    return np.bitwise_count(_words(x)).sum(axis=1, dtype=np.int64)


def intersections(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """``|q & b|`` for every pair (nq x nb), by popcount over the packed words."""
    q, b = _words(np.ascontiguousarray(xq)), _words(np.ascontiguousarray(xb))
    out = np.empty((q.shape[0], b.shape[0]), dtype=np.int64)
    rows = max(1, (1 << 22) // max(1, b.shape[0] * b.shape[1]))  # bound the (rows x nb x words) temporary
    for s in range(0, q.shape[0], rows):
        out[s:s + rows] = np.bitwise_count(q[s:s + rows, None, :] & b[None]).sum(axis=2, dtype=np.int64)
    return out


def to_distance(inter: np.ndarray, union: np.ndarray, metric: str) -> np.ndarray:
    """Hamming or Jaccard distance (float64) from intersection and union counts."""
    if metric == "hamming":
        return (union - inter).astype(np.float64)
    if metric == "jaccard":
        return np.where(union > 0, 1.0 - inter / np.maximum(union, 1), 0.0)
    raise UserError(f"unknown binary metric {metric!r} (use hamming or jaccard)")


def distance_matrix(xq: np.ndarray, xb: np.ndarray, metric: str) -> np.ndarray:
    """Exact distances of every query to every base code (nq x nb, float64)."""
    inter = intersections(xq, xb)
    return to_distance(inter, popcount(xq)[:, None] + popcount(xb)[None, :] - inter, metric)


def distances_of(xb: np.ndarray, xq: np.ndarray, I: np.ndarray, metric: str) -> np.ndarray:
    """Distances of the returned ids (nq x k, float64); -1 gives +inf. ``xb`` may be read lazily
    (a RowReader): only the returned rows are gathered."""
    ok = I >= 0
    rows = np.ascontiguousarray(xb[np.where(ok, I, 0).ravel()])
    vecs = _words(rows).reshape(*I.shape, -1)                                # (nq, k, words)
    q = _words(np.ascontiguousarray(xq))[:, None, :]
    inter = np.bitwise_count(vecs & q).sum(axis=2, dtype=np.int64)
    union = np.bitwise_count(q).sum(axis=2, dtype=np.int64) + np.bitwise_count(vecs).sum(axis=2, dtype=np.int64) - inter
    return np.where(ok, to_distance(inter, union, metric), np.inf)

"""Checks on user-supplied vectors: each failure is one clear sentence."""

from __future__ import annotations

import re

import numpy as np

from annbench.errors import UserError


def check_vectors(x: np.ndarray, what: str, d: int | None = None) -> np.ndarray:
    """Numeric, 2-D, non-empty, finite; returned as contiguous float32."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise UserError(f"{what}: non-numeric dtype {x.dtype}")
    if x.ndim != 2:
        raise UserError(f"{what}: expected a 2-D array (n x d), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise UserError(f"{what}: empty array (shape {x.shape})")
    if d is not None and x.shape[1] != d:
        raise UserError(f"{what}: dimension {x.shape[1]} does not match the base dimension {d}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    check_finite(x, what)
    return x


def check_finite(x: np.ndarray, what: str) -> None:
    """No row holds NaN or inf; the error names how many do and the first."""
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise UserError(f"{what}: {int(bad.sum())} row(s) hold NaN or inf (first: row {int(np.argmax(bad))})")


def check_nonzero(zero: np.ndarray, what: str) -> None:
    """``zero`` (a flag per row) holds no row: a zero vector has no direction to search by angle."""
    if zero.any():
        raise UserError(f"{what}: {int(zero.sum())} zero vector(s) under the angular metric "
                        f"(first: row {int(np.argmax(zero))})")


NORM_ROWS = 16_384  # rows divided at a time: no float64 copy of the whole array


def normalize_rows(x: np.ndarray, what: str) -> np.ndarray:
    """L2-normalise for angular search; a zero vector has no direction, so it is an error."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = row_norms(x)
    check_nonzero(norms == 0, what)
    if np.allclose(norms, 1.0, atol=1e-5):
        return x
    out = np.empty_like(x)
    for s in range(0, len(x), NORM_ROWS):
        np.divide(x[s:s + NORM_ROWS], norms[s:s + NORM_ROWS, None], out=out[s:s + NORM_ROWS], casting="unsafe")
    return out


def row_norms(x: np.ndarray) -> np.ndarray:
    """L2 norm of each row, accumulated in float64 without a float64 copy of ``x`` (one of a
    million-row base would be 4 GiB at d = 512, twice the base itself)."""
    return np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))


PLAIN_NAME = re.compile(r"[\w-][\w.-]*")


def check_name(name, what: str, hint: str = "") -> str:
    """A name a user gives a dataset or a query set: letters, digits, '_', '-' and '.', not first (it
    names a file or an HDF5 group, and ``--queries`` lists names with commas)."""
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise UserError(f"{what} name {name!r}: use letters, digits, '_', '-' and '.' (not first){hint}")
    return name


def check_metric(metric: str) -> str:
    if metric not in ("angular", "euclidean"):
        raise UserError(f"unknown metric {metric!r} (use angular or euclidean)")
    return metric


def check_depth(k: int, n: int) -> int:
    if k < 1:
        raise UserError(f"ground-truth depth K must be >= 1, got {k}")
    if k > n:
        raise UserError(f"ground-truth depth K={k} exceeds the base size n={n}")
    return k

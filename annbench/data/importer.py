"""User arrays (.npy) and labels, read and checked before a dataset is built from them.

The ground truth is computed a layer up, by :mod:`annbench.groundtruth.build_imported`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annbench.data.validate import check_depth, check_metric, check_name, check_vectors, normalize_rows
from annbench.errors import UserError


@dataclass
class QuerySpec:
    name: str
    queries: np.ndarray
    modality: str = "unknown"
    labels: list[str] | None = None


def load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what}: file not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"{what}: not a readable .npy array: {path} ({str(exc).splitlines()[0]})") from None


def load_labels(path: str | os.PathLike, n: int, what: str) -> list[str]:
    """Captions or labels: a JSON list of strings, or a text file with one per line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what}: file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            labels = json.loads(text)
        except ValueError:
            raise UserError(f"{what}: not valid JSON: {path}") from None
        if not isinstance(labels, list):
            raise UserError(f"{what}: expected a JSON list of strings in {path}")
        labels = [str(x) for x in labels]
    else:
        labels = text.splitlines()
    if len(labels) != n:
        raise UserError(f"{what}: {len(labels)} labels for {n} vectors in {path}")
    return labels


def _prepare(x: np.ndarray, what: str, metric: str, d: int | None = None) -> np.ndarray:
    x = check_vectors(x, what, d)
    return normalize_rows(x, what) if metric == "angular" else x


def prepare_inputs(xb: np.ndarray, queries: list[QuerySpec], metric: str, k: int
                   ) -> tuple[np.ndarray, list[QuerySpec], int]:
    """Validated float32 base and query sets (unit-norm when angular) and the checked depth ``k``."""
    check_metric(metric)
    xb = _prepare(xb, "base", metric)
    k = check_depth(k, xb.shape[0])
    if not queries:
        raise UserError("no query set given")
    names: set[str] = set()
    prepared = []
    for spec in queries:
        check_name(spec.name, "query set")
        if spec.name in names:
            raise UserError(f"query set {spec.name!r} given twice")
        names.add(spec.name)
        xq = _prepare(spec.queries, f"query set {spec.name!r}", metric, xb.shape[1])
        prepared.append(QuerySpec(spec.name, xq, spec.modality, spec.labels))
    return xb, prepared, k


def holdout_rows(nb: int, n: int, seed: int) -> np.ndarray:
    """The base rows :func:`holdout` takes out (True), so that per-row columns can follow."""
    if not 0 < n < nb:
        raise UserError(f"--holdout {n}: must be between 1 and n-1 = {nb - 1}")
    out = np.zeros(nb, dtype=bool)
    out[np.random.default_rng(seed).choice(nb, n, replace=False)] = True
    return out


def holdout(xb: np.ndarray, n: int, seed: int, base_labels: list[str] | None, modality: str
            ) -> tuple[np.ndarray, QuerySpec, list[str] | None]:
    """Take ``n`` random base vectors out as in-domain queries."""
    out = holdout_rows(xb.shape[0], n, seed)
    labels_q = [base_labels[i] for i in np.flatnonzero(out)] if base_labels else None
    labels_b = [base_labels[i] for i in np.flatnonzero(~out)] if base_labels else None
    return xb[~out], QuerySpec("holdout", xb[out], modality, labels_q), labels_b

"""Pipeline: user arrays -> a dataset with exact ground truth for every query set."""

from __future__ import annotations

import numpy as np

from annbench.data.importer import QuerySpec, prepare_inputs
from annbench.data.model import Dataset, QuerySet
from annbench.groundtruth.exact import DEFAULT_K, exact_knn


def build_dataset(name: str, xb: np.ndarray, queries: list[QuerySpec], metric: str, k: int = DEFAULT_K,
                  base_labels: list[str] | None = None, base_modality: str = "unknown") -> Dataset:
    """Validate, normalise (angular) and compute exact top-k for every query set."""
    xb, queries, k = prepare_inputs(xb, queries, metric, k)
    sets: dict[str, QuerySet] = {}
    for spec in queries:
        D, I = exact_knn(xb, spec.queries, k, metric)
        sets[spec.name] = QuerySet(spec.name, spec.queries, I, D, spec.modality, spec.labels)
    return Dataset(name, metric, xb, sets, base_modality=base_modality, base_labels=base_labels)

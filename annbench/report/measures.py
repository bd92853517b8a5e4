"""Per-query difficulty of a dataset's query set, computed once per report (see
:mod:`annbench.groundtruth.difficulty` for what each measure means)."""

from __future__ import annotations

import numpy as np

from annbench.data.model import Dataset


def measures(ds: Dataset, qset: str, cache: dict) -> dict[str, np.ndarray]:
    """``{"lid", "rc", "ood"}`` of ``qset``, one value per query (cached per dataset object and query set)."""
    from annbench.groundtruth.difficulty import base_nn_distance, query_difficulty

    key = ("difficulty", id(ds), qset)
    if key not in cache:
        base_key = ("base_nn", id(ds))
        if base_key not in cache:
            cache[base_key] = base_nn_distance(ds.xb, ds.metric)
        qs = ds.query_sets[qset]
        cache[key] = query_difficulty(ds.xb, qs.queries, qs.distances, ds.metric, cache[base_key])
    return cache[key]

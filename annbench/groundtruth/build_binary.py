"""Pipeline: a float dataset -> its binary codes with exact binary truth, and the parent's float truth.

The codes come from :mod:`annbench.data.binarize`, which also writes the result
(:func:`annbench.data.binarize.write_binary`); this module adds the truth.
"""

from __future__ import annotations

from annbench.data.binarize import encode_parent
from annbench.data.model import Dataset, QuerySet
from annbench.groundtruth.binary import exact_binary_knn


def binarize(parent: Dataset, method: str, bits: int | None = None, distance: str = "hamming",
             seed: int = 0, center_queries: bool = False) -> tuple[Dataset, dict[str, tuple]]:
    """The binary dataset (codes + exact binary truth at the parent's depth) and the float truth per set."""
    codes = encode_parent(parent, method, bits, distance, seed, center_queries)
    sets, float_truths = {}, {}
    for name, qs in parent.query_sets.items():
        xq = codes.queries[name]
        D, I = exact_binary_knn(codes.xb, xq, qs.gt_depth, distance)
        sets[name] = QuerySet(name, xq, I, D, qs.modality, qs.labels)
        float_truths[name] = (qs.neighbors, qs.distances)
    ds = Dataset(codes.name, distance, codes.xb, sets, parent.base_modality,
                 parent.base_labels, point_type="bit", attrs=codes.attrs)
    return ds, float_truths

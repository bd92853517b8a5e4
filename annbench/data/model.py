"""In-memory datasets: one base, several query sets, each with its exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FLOAT_METRICS = ("angular", "euclidean")
BINARY_METRICS = ("hamming", "jaccard")


@dataclass
class QuerySet:
    """Queries against the base and their exact top-K (ids best first, ann-benchmarks distances)."""

    name: str
    queries: np.ndarray
    neighbors: np.ndarray
    distances: np.ndarray
    modality: str = "unknown"
    labels: list[str] | None = None
    # The base id of each query's true match, -1 where it has none: the paired image of a caption
    # (task "paired"), or the class-name prompt of a labelled image (task "classification").
    pairs: np.ndarray | None = None
    task: str = "paired"

    @property
    def nq(self) -> int:
        return int(self.queries.shape[0])

    @property
    def gt_depth(self) -> int:
        return int(self.neighbors.shape[1])


@dataclass
class Dataset:
    """A base ``xb`` and named query sets; ``metric`` is the ann-benchmarks ``distance`` attr.

    Angular datasets hold unit-norm vectors and are searched by inner product.
    """

    name: str
    metric: str
    xb: np.ndarray
    query_sets: dict[str, QuerySet]
    base_modality: str = "unknown"
    base_labels: list[str] | None = None
    point_type: str = "float"
    attrs: dict = field(default_factory=dict)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # integer columns filters read (data/attributes.py)

    @property
    def d(self) -> int:
        """Coordinates an index sees: bits for packed binary codes (8 per stored byte), columns otherwise."""
        return int(self.xb.shape[1]) * (8 if self.point_type == "bit" else 1)

    @property
    def nb(self) -> int:
        return int(self.xb.shape[0])

    def query_set(self, name: str | None) -> QuerySet:
        from annbench.errors import UserError

        if name is None:
            return next(iter(self.query_sets.values()))
        if name not in self.query_sets:
            raise UserError(
                f"dataset {self.name!r} has no query set {name!r} "
                f"(it has: {', '.join(self.query_sets)})"
            )
        return self.query_sets[name]

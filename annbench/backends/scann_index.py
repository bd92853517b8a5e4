"""Google's ScaNN: a k-means tree, asymmetric hashing (AH) of the vectors in each leaf, and an exact
re-order of the best candidates by their float vectors.

Build parameters:

- ``leaves`` (1024): leaves of the k-means tree (ScaNN's ``num_leaves``); about sqrt(nb) is
  ScaNN's advice, and no more than nb.
- ``dims_per_block`` (2): dimensions per AH block; each block is one 4-bit code (16 centres,
  ScaNN's ``lut16``), so 2 stores d / 4 bytes per vector. More dimensions: smaller codes, less recall.
- ``aq_threshold`` (0.2): ScaNN's ``anisotropic_quantization_threshold``, which weighs the
  quantisation error parallel to a vector above the orthogonal error (what an inner product
  feels); 0.2 is ScaNN's advice, 0 turns it off (plain k-means codebooks). Below 1 on unit vectors.

Search parameters: ``leaves_to_search`` (32, or ``leaves`` if fewer; a larger value given is
refused) and ``reorder`` (100): the candidates AH scoring passes to the exact re-order (ScaNN's
``pre_reorder_num_neighbors``), searched as max(reorder, k) since ScaNN returns only ``reorder``
results otherwise.

ScaNN trains its tree and codebooks inside its build, on up to 100,000 rows it samples from the
base (its defaults), so it takes the whole base at once and trains nothing before: its build
time is all ``add_s``. Metric: ``dot_product`` with a spherical tree on unit vectors (angular,
as ann-benchmarks runs it; D: inner products, largest first), ``squared_l2`` for euclidean (D
ascending). Fewer than k results (too few leaves searched) are padded with -1.

index_bytes: measured, the bytes ScaNN writes when it serialises the index into a temporary
directory (float vectors kept for the re-order, AH codes and codebooks, tree, config). The files
hold a 4-bit code in a byte, memory two: index_bytes exceeds the resident codes by
d / (2 dims_per_block) bytes per vector (128 B at d = 512, about 5% of the index).
No ndis: ScaNN keeps no distance counter. Threads: the build trains on ``threads``; a search
batch runs on the calling thread alone at threads = 1, else on the caller plus a pool of
threads - 1 (``search_batched_parallel`` runs on the caller and the pool), split into one
share of queries per thread.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any, ClassVar

import numpy as np
import scann

from annbench.backends.params import check_setup, require_int, with_defaults
from annbench.errors import UserError

_MEASURES = {"angular": "dot_product", "euclidean": "squared_l2"}
_INTS = ("leaves", "dims_per_block", "leaves_to_search", "reorder")


class ScaNN:
    name: ClassVar[str] = "scann"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"leaves": 1024, "dims_per_block": 2, "aq_threshold": 0.2}
    search_params: ClassVar[dict[str, Any]] = {"leaves_to_search": 32, "reorder": 100}
    libraries: ClassVar[tuple[str, ...]] = ("scann",)
    adds_in_chunks: ClassVar[bool] = False  # ScaNN trains and indexes the whole base in one call
    trains: ClassVar[bool] = False          # it samples its own training rows from the base
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_setup(type(self), device, metric, threads)
        self.params, search = with_defaults(type(self), build, {})
        self.check_params(self.params, {}, nb=self.params["leaves"], d=d)
        if metric == "angular" and self.params["aq_threshold"] >= 1:
            raise UserError(f"scann: aq_threshold must be below 1 on unit vectors, got {self.params['aq_threshold']}")
        self.d, self.metric, self.threads = d, metric, threads
        self.searcher = None
        self._search = search
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        """A ``leaves_to_search`` given above ``leaves`` is refused; the default, not given, is cut to
        ``leaves`` (a sweep gives every value: there it is refused too, with a hint)."""
        build, filled = with_defaults(cls, build, search)
        for key in _INTS:
            require_int(cls, key, {**build, **filled}[key])
        _check_threshold(build["aq_threshold"])
        if build["leaves"] > nb:
            raise UserError(f"scann: leaves={build['leaves']} exceeds the {nb} base vectors")
        if search.get("leaves_to_search", 0) > build["leaves"]:
            raise UserError(f"scann: leaves_to_search={search['leaves_to_search']} exceeds leaves={build['leaves']}"
                            f" (the default is {cls.search_params['leaves_to_search']}: give one <= leaves)")
        if build["dims_per_block"] > d:
            raise UserError(f"scann: dims_per_block={build['dims_per_block']} exceeds the dimension {d}")

    def train(self, xt: np.ndarray) -> None:
        pass

    def add(self, xb: np.ndarray) -> None:
        """Trains the tree and codebooks on the base and indexes it, in one call."""
        if self.searcher is not None:
            raise UserError("scann: the base must come whole, in one add()")
        self.check_params(self.params, {}, nb=len(xb), d=self.d)
        p, angular = self.params, self.metric == "angular"
        builder = (scann.scann_ops_pybind.builder(np.ascontiguousarray(xb, dtype=np.float32), 10, _MEASURES[self.metric])
                   .tree(num_leaves=p["leaves"], num_leaves_to_search=self._leaves_to_search(), spherical=angular)
                   .score_ah(p["dims_per_block"], anisotropic_quantization_threshold=p["aq_threshold"] or math.nan)
                   .reorder(self._search["reorder"])
                   .set_n_training_threads(self.threads))
        try:
            self.searcher = builder.build()
        except RuntimeError as exc:
            raise UserError(f"scann: {str(exc).splitlines()[0]}") from None
        if self.threads > 1:
            self.searcher.set_num_threads(self.threads - 1)  # the pool; the calling thread works too
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        self.check_params(self.params, params, nb=self.params["leaves"], d=self.d)
        self._search = with_defaults(type(self), {}, params)[1]

    def _leaves_to_search(self) -> int:
        return min(self._search["leaves_to_search"], self.params["leaves"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        settings = {"final_num_neighbors": k, "leaves_to_search": self._leaves_to_search(),
                    "pre_reorder_num_neighbors": max(self._search["reorder"], k)}
        if self.threads == 1:
            I, D = self.searcher.search_batched(xq, **settings)
        else:
            share = max(1, -(-len(xq) // self.threads))
            I, D = self.searcher.search_batched_parallel(xq, batch_size=share, **settings)
        missing = np.isnan(D)  # ScaNN pads with id 0 and a NaN distance
        worst = -np.inf if self.metric == "angular" else np.inf
        return (np.where(missing, np.float32(worst), D).astype(np.float32),
                np.where(missing, -1, I.astype(np.int64)))

    def stats(self) -> dict:
        if self._bytes is None and self.searcher is not None:
            self._bytes = _serialized_size(self.searcher)
        return {"index_bytes": self._bytes or 0}  # ScaNN keeps no distance counter


def _check_threshold(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise UserError(f"scann: aq_threshold must be a number >= 0 (0: off), got {value!r}")


def _serialized_size(searcher) -> int:
    """Bytes of the files ScaNN writes for the index: a measurement, its layout is not exposed."""
    with tempfile.TemporaryDirectory(prefix="annbench-scann-") as tmp:
        searcher.serialize(tmp)
        return sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))

"""Any faiss index named by an index_factory string ("IVF1024,PQ64x4fs,RFlat", "HNSW32", ...).

Search parameters are one faiss ParameterSpace string ("nprobe=8,efSearch=64"),
so every knob faiss exposes can be swept without a backend of its own. A
parameter a string does not name runs at the index's own default, not at the
value an earlier point set: faiss has no reset, so the defaults of every
parameter ParameterSpace can set on the index are read once and applied first.

ndis per query is summed over the parts of the index, read once per build
(``_cost``): a flat scan or flat coarse quantizer counts its ntotal vectors or
nlist centroids, an IVF the list entries faiss computes a distance for
(``indexIVF_stats.ndis``; a polysemous filter's Hamming rejects are not among
them), an IVFPQR its re-ranked candidates too (``indexIVFPQ_stats.nrefine``), an
HNSW graph or quantizer ``hnsw_stats.ndis`` + 1 entry point, and a top-level
refine (RFlat, Refine(...)) k * k_factor_rf distances, where its base surely
returns that many candidates (``CandidateFloor``; else ``ndis`` is left out). Transforms (PCA, OPQ) compute no distances. Any other part
(IndexPQ, IMI, residual quantizers, NSG, Panorama variants, a nested refine)
leaves ``ndis`` out of stats() rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import faiss
import numpy as np

from annbench.backends.faiss_common import (CandidateFloor, faiss_message, hnsw_entry_points, hnsw_visited,
                                            index_bytes, ivf_scanned, metric_type, search_capped, set_threads)
from annbench.backends.params import check_device, with_defaults
from annbench.errors import UserError


class Factory:
    name: ClassVar[str] = "faiss"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"factory": "IVF1024,Flat"}
    search_params: ClassVar[dict[str, Any]] = {"params": ""}
    libraries: ClassVar[tuple[str, ...]] = ("faiss",)
    adds_in_chunks: ClassVar[bool] = True
    trains: ClassVar[bool] = True  # train() fits on a sample of the base
    concurrency: ClassVar[str] = "processes"  # how --clients runs its clients (base.py)
    filtering: ClassVar[str] = ""  # how a search keeps to a filter's rows (base.py)

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        params, _ = with_defaults(type(self), build, {})
        set_threads(threads)
        self.index = _make(d, params["factory"], metric_type(metric))
        self._defaults = _defaults(self.index)
        self._refine, self._cost = _cost_of(self.index)
        self._counted = 0  # what faiss's counters leave out: flat scans, entry points, re-rank
        self._floor: CandidateFloor | None = None  # after add, with a refine: its base's fewest candidates
        self._uncounted = False  # a search at the current settings re-ranked an unknown number
        self._bytes: int | None = None

    @classmethod
    def check_params(cls, build: dict, search: dict, nb: int, d: int) -> None:
        build, search = with_defaults(cls, build, search)
        index = _make(d, build["factory"], faiss.METRIC_L2)
        _set_params(index, search["params"])
        ivf = _ivf_of(index)
        if ivf is not None and ivf.nlist > nb:
            raise UserError(f"faiss: nlist={ivf.nlist} in {build['factory']!r} exceeds the base size {nb}")
        if ivf is not None and ivf.nprobe > ivf.nlist:
            raise UserError(f"faiss: nprobe={ivf.nprobe} exceeds nlist={ivf.nlist}")

    def train(self, xt: np.ndarray) -> None:
        if not self.index.is_trained:
            try:
                self.index.train(xt)
            except RuntimeError as exc:
                raise UserError(f"faiss: training failed: {faiss_message(exc)}") from None
            self._refine, self._cost = _cost_of(self.index)  # a quantizer holds its centroids now
            self._bytes = None

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._refine, self._cost = _cost_of(self.index)
        self._floor = CandidateFloor(self._refine.base_index) if self._refine is not None else None
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        _set_params(self.index, self._defaults)
        _set_params(self.index, search["params"])
        self._uncounted = False

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search_capped(self.index, xq, k, self._search)

    def _search(self, xq: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cost is not None:
            self._counted += len(xq) * self._cost.per_query
        if self._refine is not None:
            rescored = int(depth * self._refine.k_factor)
            if self._floor is not None and rescored <= self._floor.now():
                self._counted += len(xq) * rescored
            else:
                self._uncounted = True
        return self.index.search(xq, depth)

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        if self._cost is None or self._uncounted:
            return {"index_bytes": self._bytes}
        return {"index_bytes": self._bytes, "ndis": self._counted + sum(c() for c in self._cost.counters)}


def _make(d: int, factory: Any, metric: int) -> faiss.Index:
    if not isinstance(factory, str) or not factory.strip():
        raise UserError(f"faiss: factory must be a non-empty index_factory string, got {factory!r}")
    try:
        return faiss.index_factory(d, factory, metric)
    except RuntimeError as exc:
        raise UserError(f"faiss: bad factory string {factory!r}: {faiss_message(exc)}") from None


def _set_params(index: faiss.Index, params: Any) -> None:
    if not isinstance(params, str):
        raise UserError(f"faiss: params must be a ParameterSpace string such as 'nprobe=8', got {params!r}")
    if not params.strip():
        return
    try:
        faiss.ParameterSpace().set_index_parameters(index, params)
    except RuntimeError as exc:
        raise UserError(f"faiss: bad search parameters {params!r}: {faiss_message(exc)}") from None


# every name faiss's ParameterSpace.set_index_parameter knows that changes a search
# (efConstruction only matters to later adds, but is settable, so it is reset too)
_SETTABLE = ("nprobe", "max_codes", "efSearch", "efConstruction", "ht", "k_factor", "k_factor_rf")


def _current(index: faiss.Index, name: str) -> float | None:
    """The value ParameterSpace's ``name`` has in ``index`` now; None where it does not apply."""
    index = faiss.downcast_index(index)
    if isinstance(index, (faiss.IndexPreTransform, faiss.IndexIDMap)):
        return _current(index.index, name)
    if isinstance(index, faiss.IndexRefine):
        return float(index.k_factor) if name == "k_factor_rf" else _current(index.base_index, name)
    ivf = _ivf_of(index)
    hnsw = index if isinstance(index, faiss.IndexHNSW) else None
    if ivf is not None and hnsw is None and name in ("efSearch", "efConstruction"):
        quantizer = faiss.downcast_index(ivf.quantizer)  # faiss sets these on an HNSW quantizer
        hnsw = quantizer if isinstance(quantizer, faiss.IndexHNSW) else None
    if name.startswith("quantizer_"):
        return _current(ivf.quantizer, name[len("quantizer_"):]) if ivf is not None else None
    values = {
        "nprobe": lambda: ivf.nprobe if ivf is not None else None,
        "max_codes": lambda: ivf.max_codes if ivf is not None else None,
        "efSearch": lambda: hnsw.hnsw.efSearch if hnsw is not None else None,
        "efConstruction": lambda: hnsw.hnsw.efConstruction if hnsw is not None else None,
        "k_factor": lambda: index.k_factor if isinstance(index, faiss.IndexIVFPQR) else None,
        "ht": lambda: _ht(index),
    }
    value = values[name]() if name in values else None
    return None if value is None else float(value)


def _ht(index: faiss.Index) -> float | None:
    if isinstance(index, faiss.IndexPQ):  # ST_PQ is what "ht >= code bits" selects
        polysemous = index.search_type == faiss.IndexPQ.ST_polysemous
        return index.polysemous_ht if polysemous else index.pq.code_size * 8
    if isinstance(index, faiss.IndexIVFPQ):
        return index.polysemous_ht
    return None


def _defaults(index: faiss.Index) -> str:
    """``"nprobe=1,max_codes=0,..."``: the index's values now of every parameter ParameterSpace can set."""
    names = [*_SETTABLE, *(f"quantizer_{n}" for n in _SETTABLE)]
    values = {name: _current(index, name) for name in names}
    return ",".join(f"{name}={value:.17g}" for name, value in values.items() if value is not None)


def _ivf_of(index: faiss.Index) -> faiss.IndexIVF | None:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


# -- what a search computes ---------------------------------------------------------

@dataclass(frozen=True)
class _Cost:
    """How to count the distances a search of one index (or of a part of it) computes."""
    per_query: int = 0  # distances faiss computes but counts nowhere: flat scans, centroids, entry points
    counters: frozenset[Callable[[], int]] = frozenset()  # the process-wide faiss counters that count the rest

    def __add__(self, other: _Cost) -> _Cost:
        # a counter shared by two parts already counts both: the union, not the sum
        return _Cost(self.per_query + other.per_query, self.counters | other.counters)


def _ivfpq_refined() -> int:
    return int(faiss.cvar.indexIVFPQ_stats.nrefine)  # IndexIVFPQR's re-ranked candidates


_EXHAUSTIVE = (faiss.IndexFlat, faiss.IndexFlatL2, faiss.IndexFlatIP, faiss.IndexScalarQuantizer,
               faiss.IndexPQFastScan)
_IVF = (faiss.IndexIVFFlat, faiss.IndexIVFScalarQuantizer, faiss.IndexIVFPQ, faiss.IndexIVFPQFastScan,
        faiss.IndexIVFPQR)
_HNSW = (faiss.IndexHNSWFlat, faiss.IndexHNSWSQ, faiss.IndexHNSWPQ)
_REFINE = (faiss.IndexRefine, faiss.IndexRefineFlat)


def _cost_of(index: faiss.Index) -> tuple[faiss.IndexRefine | None, _Cost | None]:
    """The top-level refine, whose re-rank the backend counts, and the cost of the rest; the refine
    is a view of ``index``, valid while the backend holds it."""
    top = faiss.downcast_index(index)
    if type(top) in _REFINE:
        return top, _cost(top.base_index)
    return None, _cost(top)


def _cost(index: faiss.Index) -> _Cost | None:
    """None where a part keeps no count we can read: better no ndis than a wrong one."""
    index = faiss.downcast_index(index)
    kind = type(index)
    if kind in (faiss.IndexPreTransform, faiss.IndexIDMap, faiss.IndexIDMap2):
        return _cost(index.index)
    if kind in _EXHAUSTIVE:
        return _Cost(per_query=index.ntotal)
    if kind in _HNSW:
        return _Cost(per_query=hnsw_entry_points(1, index.ntotal), counters=frozenset({hnsw_visited}))
    if kind in _IVF:
        coarse = _cost(index.quantizer)
        scanned = {ivf_scanned, _ivfpq_refined} if kind is faiss.IndexIVFPQR else {ivf_scanned}
        return None if coarse is None else coarse + _Cost(counters=frozenset(scanned))
    return None

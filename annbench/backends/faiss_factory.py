"""Any faiss index named by an index_factory string ("IVF1024,PQ64x4fs,RFlat", "HNSW32", ...).

Search parameters are one faiss ParameterSpace string ("nprobe=8,efSearch=64"),
so every knob faiss exposes can be swept without a backend of its own. A
parameter a string does not name runs at the index's own default, not at the
value an earlier point set: faiss has no reset, so the defaults of every
parameter ParameterSpace can set on the index are read once and applied first.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from annbench.backends.faiss_common import (faiss_message, index_bytes, metric_type, search_capped,
                                            set_threads)
from annbench.backends.params import check_device, with_defaults
from annbench.errors import UserError


class Factory:
    name: ClassVar[str] = "faiss"
    metrics: ClassVar[tuple[str, ...]] = ("angular", "euclidean")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    build_params: ClassVar[dict[str, Any]] = {"factory": "IVF1024,Flat"}
    search_params: ClassVar[dict[str, Any]] = {"params": ""}

    def __init__(self, d: int, metric: str, device: str, threads: int, **build: Any) -> None:
        check_device(type(self), device)
        params, _ = with_defaults(type(self), build, {})
        set_threads(threads)
        self.index = _make(d, params["factory"], metric_type(metric))
        self._defaults = _defaults(self.index)
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
            self._bytes = None

    def add(self, xb: np.ndarray) -> None:
        self.index.add(xb)
        self._bytes = None

    def set_search_params(self, **params: Any) -> None:
        _, search = with_defaults(type(self), {}, params)
        _set_params(self.index, self._defaults)
        _set_params(self.index, search["params"])

    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search_capped(self.index, xq, k)

    def stats(self) -> dict:
        if self._bytes is None:
            self._bytes = index_bytes(self.index)
        # Inverted lists and HNSW graphs (including an HNSW coarse quantizer) each count their own.
        ndis = faiss.cvar.indexIVF_stats.ndis + faiss.cvar.hnsw_stats.ndis
        return {"index_bytes": self._bytes, "ndis": int(ndis)}


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

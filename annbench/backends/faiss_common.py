"""What the faiss backends share: metric constant, threads, measured size, faiss's
distance counters, the floor a re-rank's count rests on, faiss's error sentence, -1 padding.

faiss counts distances in process-wide cumulative counters (``faiss.cvar``) that
it never resets itself; a backend adds its own counts of what they leave out,
so ``stats()["ndis"]`` only grows and the runner's differences are exact.
"""

from __future__ import annotations

import re
from typing import Callable

import faiss
import numpy as np

from annbench.errors import UserError

_METRICS = {"angular": faiss.METRIC_INNER_PRODUCT, "euclidean": faiss.METRIC_L2}
_FLT_MAX = float(np.finfo(np.float32).max)


def metric_type(metric: str) -> int:
    """Angular data arrives unit-norm, so inner product ranks exactly as cosine."""
    if metric not in _METRICS:
        raise UserError(f"unknown metric {metric!r} (use angular or euclidean)")
    return _METRICS[metric]


def set_threads(threads: int) -> None:
    """faiss's OpenMP pool is process-wide: the index made last sets it for all."""
    if threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}")
    faiss.omp_set_num_threads(threads)


def index_bytes(index: faiss.Index | faiss.IndexBinary) -> int:
    """Bytes faiss writes for the index: a measurement, not a formula per index type.

    Counted as the writer streams them past (1 MB chunks), never a serialised copy:
    a 10 GB index must not need 10 GB more to be measured.
    """
    total = 0

    def count(chunk: bytes) -> int:
        nonlocal total
        total += len(chunk)
        return len(chunk)

    write = faiss.write_index_binary if isinstance(index, faiss.IndexBinary) else faiss.write_index
    write(index, faiss.PyCallbackIOWriter(count))
    return total


def ivf_scanned() -> int:
    """Inverted-list entries whose distance every faiss IVF search (float or binary) computed,
    process-wide (``indexIVF_stats.ndis``); the coarse quantizer's distances are not in it."""
    return int(faiss.cvar.indexIVF_stats.ndis)


def hnsw_visited() -> int:
    """Distances every faiss HNSW search computed, process-wide (``hnsw_stats.ndis``), but for
    the entry point's: HNSW.cpp computes that one per query before it starts counting."""
    return int(faiss.cvar.hnsw_stats.ndis)


def hnsw_entry_points(nq: int, ntotal: int) -> int:
    """The distances to the entry point that :func:`hnsw_visited` leaves out: one per query."""
    return nq if ntotal else 0


class CandidateFloor:
    """The fewest candidates an index returns for any query at its current search settings.

    A refine (IndexRefine, or ivf_pq's k_factor) re-scores the ``k * k_factor`` candidates its
    base returns, skipping the -1 slots of a base that found fewer (short inverted lists). Where
    the base surely fills them, the re-rank computes exactly ``k * k_factor`` distances per query;
    elsewhere the count is unknown (0 here), and the backend says so rather than guess. The
    search itself stays faiss's own call: counting by searching otherwise would time another search.
    """

    def __init__(self, base: faiss.Index) -> None:
        self.base = faiss.downcast_index(base)
        while type(self.base) in (faiss.IndexPreTransform, faiss.IndexIDMap, faiss.IndexIDMap2):
            self.base = faiss.downcast_index(self.base.index)
        try:
            self.ivf = faiss.extract_index_ivf(self.base)
        except RuntimeError:
            self.ivf = None
        sizes = (np.sort([self.ivf.invlists.list_size(i) for i in range(self.ivf.nlist)])
                 if self.ivf is not None else np.zeros(0))
        self.smallest = np.concatenate([[0], np.cumsum(sizes)])  # the codes of the n smallest lists

    def now(self) -> int:
        if isinstance(self.base, faiss.IndexPQ):
            return 0 if self.base.search_type == faiss.IndexPQ.ST_polysemous else int(self.base.ntotal)
        if self.ivf is None:
            return int(self.base.ntotal)
        if isinstance(self.ivf, faiss.IndexIVFPQ) and self.ivf.polysemous_ht:
            return 0  # the Hamming filter drops candidates
        floor = int(self.smallest[min(self.ivf.nprobe, self.ivf.nlist)])
        return min(floor, int(self.ivf.max_codes)) if self.ivf.max_codes else floor


def faiss_message(exc: Exception) -> str:
    """faiss's own sentence, without the C++ signature, file and line that precede it."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^Error in .*? at \S+:\d+: ", "", text)
    return re.sub(r"^Error: '.*?' failed: ", "", text)


def search_capped(index: faiss.Index, xq: np.ndarray, k: int,
                  search: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Search at most ntotal deep (by ``search``, else ``index.search``), then pad with -1 the way faiss pads.

    faiss's NSG fills its candidate pool with random distinct ids and loops forever
    when the pool is deeper than the base; capping k avoids that for every index.
    """
    depth = min(k, max(index.ntotal, 1))
    D, I = (search or index.search)(xq, depth)
    if depth == k:
        return D, I
    worst = -_FLT_MAX if index.metric_type == faiss.METRIC_INNER_PRODUCT else _FLT_MAX
    D_out = np.full((len(xq), k), worst, dtype=np.float32)
    I_out = np.full((len(xq), k), -1, dtype=np.int64)
    D_out[:, :depth], I_out[:, :depth] = D, I
    return D_out, I_out


FAISS_FILTERING = "faiss IDSelectorBitmap via SearchParameters"


class Selector:
    """A filter's rows as a faiss ``IDSelectorBitmap``, and the search parameters that carry it.

    faiss reads a search's settings from the parameters object when one is given, not from the
    index (``SearchParametersIVF`` defaults nprobe to 1): the caller passes the current settings
    every time. One object per (kind, settings) is kept until the filter changes, so a search of
    one query pays no construction. The bitmap and selector live here: faiss holds raw pointers.
    """

    def __init__(self) -> None:
        self.sel, self._bits, self._made = None, None, {}
        self.passing: int | None = None  # rows the filter passes (None: no filter)

    def set(self, flt) -> None:
        """``flt``: an :class:`annbench.data.filters.RowFilter`, or None for every row."""
        self._made = {}
        if flt is None:
            self.sel = self._bits = self.passing = None
            return
        self.passing = int(np.count_nonzero(flt.mask))
        self._bits = np.packbits(np.asarray(flt.mask, dtype=bool), bitorder="little")
        self.sel = faiss.IDSelectorBitmap(len(flt.mask), faiss.swig_ptr(self._bits))

    def params(self, kind: type, **settings):
        """``kind(sel=..., **settings)`` under the current filter; None without a filter."""
        if self.sel is None:
            return None
        key = (kind, tuple(sorted(settings.items())))
        if key not in self._made:
            self._made[key] = kind(sel=self.sel, **settings)
        return self._made[key]

"""Filtered search in the runner: the filtered truth (computed by the sweep, read by workers), the
hand-off of filters to backends that filter natively, and post-filtering for those that cannot.

A point whose key has a ``filter`` is searched one of two ways, and its record says which
(``filter_method``):

- natively (the backend's ``filtering`` is not ""): ``set_filter`` with the point's rows;
  the switch happens in the round's untimed warm-up batch (the first search after a change);
- post-filtered: the index is searched ``k' = min(nb, ceil(2 k / s))`` deep (``s``: the
  passing fraction), the refused rows dropped, the first ``k`` kept (-1 where fewer pass).
  ``2 k / s`` candidates hold ``2 k`` passing rows on average, so a query lacks ``k`` of them
  rarely (about 1% at k = 10); what is lost shows as recall.

Recall is measured against the exact top-K over the passing rows only
(:mod:`annbench.groundtruth.filtered`), cached in ``RESULTS/filtered_truth/`` under a name
hashed from the dataset fingerprint, the rows the filter passes (so an attribute column
changed since is a new truth), the query set and K. The sweep computes it
before any worker starts; a worker that finds none (on a Ray node, whose worker writes into a
results folder of its own) computes it the same way before measuring.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np

from annbench.data.filters import RowFilter, filter_text, row_filter

TRUTH_DIR = "filtered_truth"


def post_filter_depth(k: int, selectivity: float, nb: int) -> int:
    """How deep a backend without filtering is searched so that ``k`` passing rows usually remain."""
    return max(k, min(nb, math.ceil(2 * k / selectivity)))


def truth_path(results: str | Path, fingerprint: str, rf: RowFilter, query_set: str, depth: int) -> Path:
    rows = hashlib.sha1(np.packbits(rf.mask).tobytes()).hexdigest()
    blob = "|".join([fingerprint, rows, query_set, str(depth)])
    return Path(results) / TRUTH_DIR / f"{hashlib.sha1(blob.encode()).hexdigest()[:20]}.npz"


def prepare_truths(dataset: str, keys: list[dict], results: str, fingerprint: str) -> int:
    """Compute, in the sweep's process before any worker starts, every filtered truth the ``keys``
    need and the results directory lacks; returns how many were computed."""
    from annbench.data.hdf5io import read_dataset

    wanted = {(filter_text(k["filter"]), k["query_set"]): k["filter"] for k in keys if k.get("filter")}
    if not wanted:
        return 0
    ds = read_dataset(dataset, lazy_base=True)  # the base streams in blocks from the file
    made = 0
    for (_, name), flt in wanted.items():
        rf, qs = row_filter(flt, ds.attributes, ds.nb), ds.query_set(name)
        path = truth_path(results, fingerprint, rf, name, qs.gt_depth)
        if not path.exists():
            write_truth(ds, rf, qs, path)
            made += 1
    return made


def write_truth(ds, rf: RowFilter, qs, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The exact top-K of ``qs`` over the rows ``rf`` passes, written atomically to ``path``."""
    from annbench.atomic import atomic_path
    from annbench.groundtruth.filtered import filtered_knn

    print(f"annbench: exact truth of {qs.name!r} over the {rf.passing} rows passing {rf.expression}", file=sys.stderr)
    D, I = filtered_knn(ds.xb, qs.queries, rf.mask, qs.gt_depth, ds.metric)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, neighbors=I, distances=D)
    return I, D


def read_truth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as f:
        return f["neighbors"], f["distances"]


class Filters:
    """The filters of one build point's keys, resolved once against the dataset, and the one set
    on the index now."""

    def __init__(self, ds, keys: list[dict], results: str, fingerprint: str) -> None:
        self.ds, self.results, self.fingerprint = ds, results, fingerprint
        flts = {filter_text(k["filter"]): k["filter"] for k in keys if k.get("filter")}
        self.rows: dict[str, RowFilter] = {t: row_filter(f, ds.attributes, ds.nb) for t, f in flts.items()}
        self.current: str | None = None

    def hand_over(self, index) -> None:
        """Before add(): every filter to a backend that filters natively (Milvus stores their columns)."""
        if type(index).filtering and self.rows:
            for rf in self.rows.values():
                index.set_filter(rf)
            index.set_filter(None)

    def search(self, index, search, key: dict):
        """``(search, fields)`` of a point: the stage as is without a filter, else filtered natively
        or post-filtered; ``fields`` say how, for the record."""
        if not self.rows:
            return search, {}
        method = native_method(index, key)
        if not key.get("filter"):  # a native filter set for an earlier point is cleared
            return (self._switching(index, search, None, None) if method else search), {}
        text = filter_text(key["filter"])
        rf = self.rows[text]
        fields = {"filter_selectivity": rf.selectivity, "filter_rows": rf.passing}
        if method:
            return self._switching(index, search, text, rf), {**fields, "filter_method": method}
        depth = post_filter_depth(key["k"], rf.selectivity, self.ds.nb)
        return post_filtered(search, rf.mask, depth), {**fields, "filter_method": f"post-filter (k'={depth})"}

    def _switching(self, index, search, text: str | None, rf: RowFilter | None):
        def run(xq: np.ndarray, k: int):
            if self.current != text:  # the first (untimed warm-up) batch of a round after a change
                index.set_filter(rf)
                self.current = text
            return search(xq, k)
        return run

    def truth(self, key: dict, qs) -> tuple[np.ndarray, np.ndarray] | None:
        """The filtered ``(neighbors, distances)`` of a filtered point; None without a filter."""
        if not key.get("filter"):
            return None
        rf = self.rows[filter_text(key["filter"])]
        path = truth_path(self.results, self.fingerprint, rf, qs.name, qs.gt_depth)
        if not path.exists():  # a worker on a Ray node writes into a results folder of its own
            return write_truth(self.ds, rf, qs, path)
        return read_truth(path)


def native_method(index, key: dict) -> str:
    """How the backend keeps a search of this point to a filter's rows itself ("": it cannot, and the
    runner post-filters): on the CPU only (faiss's GPU indexes take no IDSelector)."""
    return type(index).filtering if key.get("device", "cpu") == "cpu" else ""


def post_filtered(search, mask: np.ndarray, depth: int):
    """``search`` run ``depth`` deep, keeping the first ``k`` ids ``mask`` passes, in the index's order."""
    def run(xq: np.ndarray, k: int):
        D, I = search(xq, depth)
        keep = (I >= 0) & mask[np.where(I >= 0, I, 0)]
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # passing ids first, their order kept
        kept = np.take_along_axis(keep, order, 1)
        D, I = np.take_along_axis(D, order, 1), np.where(kept, np.take_along_axis(I, order, 1), -1)
        if I.shape[1] < k:
            I = np.hstack([I, np.full((len(I), k - I.shape[1]), -1, dtype=I.dtype)])
            D = np.hstack([D, np.zeros((len(D), k - D.shape[1]), dtype=D.dtype)])
        return D, I
    return run

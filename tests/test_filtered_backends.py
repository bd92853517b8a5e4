"""Each backend that filters natively returns only passing rows, at the settings it was given;
the runner's post-filter keeps the passing ids in the index's order."""

from __future__ import annotations

import numpy as np
import pytest

from annbench.backends import registry
from annbench.data.filters import row_filter, seeded
from annbench.errors import UserError
from annbench.groundtruth.filtered import filtered_knn
from annbench.runner.filtered import post_filter_depth, post_filtered

# settings at which each index is exact over a small base: a wrong (default) nprobe or ef would show
EXACT = [("flat", {}, {}), ("ivf_flat", {"nlist": 8}, {"nprobe": 8}), ("ivf_sq8", {"nlist": 8}, {"nprobe": 8}),
         ("ivf_pq", {"nlist": 8, "m": 8, "nbits": 4, "k_factor": 16}, {"nprobe": 8}),
         ("hnsw", {"M": 16, "ef_construction": 200}, {"ef": 2000}),
         ("hnswlib", {"M": 16, "ef_construction": 200}, {"ef": 2000}),
         ("milvus", {"index_type": "FLAT"}, {})]


def _recall(I, T):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(I, T)])


@pytest.mark.parametrize("name, build, search", EXACT, ids=[e[0] for e in EXACT])
def test_native_filters_return_only_passing_rows_at_the_set_search_params(unit_data, name, build, search):
    xb, xq = unit_data
    cls = registry.get(name)
    assert cls.filtering
    filters = [row_filter(seeded(s, len(xb)), {}, len(xb)) for s in (0.02, 0.2)]
    index = cls(xb.shape[1], "angular", "cpu", 1, **build)
    for rf in filters:  # the runner hands every filter over before add() (Milvus inserts the column)
        index.set_filter(rf)
    index.set_filter(None)
    index.train(xb)
    index.add(xb)
    index.set_search_params(**search)
    for rf in filters:
        index.set_filter(rf)
        _, I = index.search(xq, 10)
        assert rf.mask[I[I >= 0]].all() and (I >= 0).all()
        _, T = filtered_knn(xb, xq, rf.mask, 10, "angular")
        assert _recall(I, T) >= (0.999 if name not in ("ivf_sq8", "ivf_pq") else 0.95), name
    index.set_filter(None)
    _, I = index.search(xq, 10)
    assert not filters[0].mask[I].all()  # cleared: rows of the whole base come back


def test_ivf_filter_follows_nprobe(unit_data):
    """faiss's SearchParametersIVF defaults nprobe to 1; the backend passes the set value."""
    xb, xq = unit_data
    rf = row_filter(seeded(0.1, len(xb)), {}, len(xb))
    _, T = filtered_knn(xb, xq, rf.mask, 10, "angular")
    index = registry.get("ivf_flat")(xb.shape[1], "angular", "cpu", 1, nlist=32)
    index.train(xb)
    index.add(xb)
    index.set_filter(rf)
    recalls = []
    for nprobe in (1, 4, 32):
        index.set_search_params(nprobe=nprobe)
        recalls.append(_recall(index.search(xq, 10)[1], T))
    assert recalls[0] < recalls[1] < recalls[2] == 1.0


def test_post_filter_keeps_passing_ids_in_order_and_pads():
    mask = np.zeros(100, dtype=bool)
    mask[[3, 7, 50]] = True
    I = np.array([[9, 7, -1, 3, 50, 1], [1, 2, 4, 5, 6, 8]])
    D = np.arange(12, dtype=np.float32).reshape(2, 6)
    asked = []

    def search(xq, k):
        asked.append(k)
        return D, I

    D2, I2 = post_filtered(search, mask, 6)(np.zeros((2, 4), np.float32), 2)
    assert asked == [6]
    assert I2.tolist() == [[7, 3], [-1, -1]] and D2[0].tolist() == [1.0, 3.0]
    assert post_filter_depth(10, 0.01, 100_000) == 2000 and post_filter_depth(10, 0.001, 5000) == 5000


def test_a_backend_declaring_filtering_must_implement_set_filter(monkeypatch):
    import sys
    import types

    class Half:
        name, metrics, devices, build_params, search_params = "half", ("angular",), ("cpu",), {}, {}
        libraries, adds_in_chunks, trains, concurrency, filtering = ("numpy",), False, False, "processes", "magic"

        @classmethod
        def check_params(cls, build, search, nb, d):
            pass

    monkeypatch.setitem(sys.modules, "half_backend", types.SimpleNamespace(Half=Half))
    monkeypatch.setenv("ANNBENCH_BACKENDS", "half=half_backend:Half")
    with pytest.raises(UserError, match="set_filter"):
        registry.get("half")


def test_flat_counts_the_distances_to_passing_rows_only(unit_data):
    xb, xq = unit_data
    index = registry.get("flat")(xb.shape[1], "angular", "cpu", 1)
    index.add(xb)
    index.set_filter(row_filter(seeded(0.1, len(xb)), {}, len(xb)))
    index.search(xq, 10)
    assert index.stats()["ndis"] == len(xq) * 200
    index.set_filter(None)
    index.search(xq, 10)
    assert index.stats()["ndis"] == len(xq) * (200 + len(xb))

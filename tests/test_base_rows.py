"""Builds read the base in chunks and train on a sample: same index as one whole add, bounded memory."""

import numpy as np
import pytest

from annbench.backends import registry
from annbench.data.hdf5io import read_dataset
from annbench.runner import base_rows, worker
from annbench.runner.memory import PeakRSS


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(base_rows, "ADD_CHUNK", 128)
    monkeypatch.setattr(base_rows, "TRAIN_ROWS", 300)


def test_every_backend_says_how_it_takes_the_base():
    for name in registry.names():
        cls = registry.get(name)
        assert isinstance(cls.adds_in_chunks, bool) and isinstance(cls.trains, bool), name
        assert cls.concurrency in ("processes", "threads"), name


def test_chunks_cover_the_base_in_order(small_chunks, t2i_file):
    ds = read_dataset(t2i_file, lazy_base=True)
    parts = list(base_rows.chunks(ds.xb, whole=False))
    assert [len(p) for p in parts] == [128] * 7 + [104]
    assert np.array_equal(np.vstack(parts), read_dataset(t2i_file).xb)
    assert len(list(base_rows.chunks(ds.xb, whole=True))) == 1
    sample = base_rows.training_rows(ds.xb)
    assert sample.shape == (300, 512) and np.array_equal(sample, base_rows.training_rows(ds.xb))  # seeded


@pytest.mark.parametrize("index, build, search", [("flat", {}, {}), ("ivf_flat", {"nlist": 8}, {"nprobe": 3}),
                                                  ("annoy", {"n_trees": 4}, {"search_k": 400})])
def test_a_chunked_build_searches_like_one_whole_add(small_chunks, t2i_file, index, build, search):
    lazy, whole = read_dataset(t2i_file, lazy_base=True), read_dataset(t2i_file)
    cls = registry.get(index)
    built, info = worker._build(cls, lazy, {"build": build, "device": "cpu"}, 1, PeakRSS())
    ref = cls(whole.d, whole.metric, "cpu", 1, **build)
    ref.train(base_rows.training_rows(whole.xb) if cls.trains else whole.xb[:0])
    ref.add(whole.xb)
    for idx in (built, ref):
        idx.set_search_params(**search)
    xq = whole.query_sets["text"].queries[:50]
    assert np.array_equal(built.search(xq, 10)[1], ref.search(xq, 10)[1])
    assert info["add_s"] > 0 and info["build_s"] == info["train_s"] + info["add_s"]
    assert info["train_rows"] == (300 if cls.trains else None)  # the sample's rows, recorded


def test_normalising_rows_makes_no_float64_copy_of_them():
    """Angular rows are normalised as read (a chunk, or a whole training sample): the float64 norms
    must not come from a float64 copy of the rows (4 GiB for a million rows at d = 512)."""
    import tracemalloc

    from annbench.data.validate import normalize_rows

    x = np.random.default_rng(0).standard_normal((60_000, 128)).astype(np.float32) * 3
    tracemalloc.start()
    try:
        out = normalize_rows(x, "rows")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * x.nbytes, f"peak {peak / x.nbytes:.2f} x the rows"  # the float32 result and little else
    expected = (x / np.linalg.norm(x.astype(np.float64), axis=1)[:, None]).astype(np.float32)
    assert np.array_equal(out, expected)
    unit = normalize_rows(expected, "unit rows")
    assert unit is expected  # already unit-norm: returned as is, no copy

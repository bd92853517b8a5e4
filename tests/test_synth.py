"""clip-synth: real CLIP geometry and index difficulty (an isotropic Gaussian fails the same checks), and its file.

Sizes are those of the real data in ../shared/data: text-to-image = a base of
1000 images and 2148 text queries; image-to-image = a base of 900 images and
held-out images as queries (real: ten folds of 100, so 1000 queries in all;
synthetic: 1000 fresh image queries).
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

import h5py
import numpy as np
import pytest

from annbench.data.hdf5io import read_dataset
from annbench.data.model import Dataset, QuerySet
from annbench.data.stats import dataset_stats
from annbench.data.synth import sample_clip_synth
from annbench.errors import UserError
from annbench.groundtruth import exact_knn
from annbench.groundtruth.build_synth import make_clip_synth

faiss = pytest.importorskip("faiss")

K = 10
IVF = {"nlist": 32, "nprobe": 2, "seeds": (1234, 1, 2)}  # recall averaged over k-means seeds
HNSW = {"M": 8, "efConstruction": 40, "efSearch": 10}


@dataclass
class Workload:
    images: np.ndarray                            # the 1000-image base of text-to-image
    texts: np.ndarray
    i2i: list[tuple[np.ndarray, np.ndarray]]      # (base of 900, image queries) pairs


def _unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _folds(images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    folds = []
    for f in range(10):
        held = np.zeros(len(images), dtype=bool)
        held[f * 100:(f + 1) * 100] = True
        folds.append((images[~held], images[held]))
    return folds


@pytest.fixture(scope="module")
def real(clip_arrays) -> Workload:
    images = _unit(clip_arrays["images"])
    return Workload(images, _unit(clip_arrays["texts"]), _folds(images))


@pytest.fixture(scope="module")
def synth() -> Workload:
    xb, texts, image_queries = sample_clip_synth(1000, 2148, seed=0, nq_image=1000)
    return Workload(xb, texts, [(xb[:900], image_queries)])


@pytest.fixture(scope="module")
def gaussian() -> Workload:
    rng = np.random.default_rng(0)
    images = _unit(rng.standard_normal((1000, 512)))
    return Workload(images, _unit(rng.standard_normal((2148, 512))), _folds(images))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny indexes: threads only add overhead (and wait on each other on a busy machine)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


# --- geometry ---------------------------------------------------------------

def _stats(w: Workload) -> dict:
    empty = np.zeros((0, 0))
    ds = Dataset("w", "angular", w.images, {"text": QuerySet("text", w.texts, empty, empty, "text")},
                 base_modality="image")
    s = dataset_stats(ds, probes=10_000)
    flat = {f"base.{k}": v for k, v in s["base"].items()}
    flat.update({f"text.{k}": v for k, v in s["query_sets"]["text"].items()})
    best = [(q @ xb.T).max(axis=1) for xb, q in w.i2i]
    flat["image.best_cos"] = float(np.concatenate(best).mean())
    return flat


# statistic -> absolute tolerance. Each is wider than the spread of the synthetic
# value over seeds 0-7 and narrower than the distance from real CLIP to an
# isotropic Gaussian (test_gaussian_fails_geometry checks the latter).
GEOMETRY = {
    "base.pair_cos": 0.02, "base.nn_cos": 0.02, "base.mean_norm": 0.02, "base.outlier": 0.03,
    "base.dims90": 25,  # synthetic ~152 against 168: the one systematic shortfall
    "text.pair_cos": 0.02, "text.mean_norm": 0.02, "text.dims90": 25, "text.outlier": 0.03,
    "text.nn_cos": 0.015,  # real 0.938 counts the class names the four vocabularies share
    "text.cross_cos": 0.015, "text.gap": 0.02,
    "text.best_cos": 0.02, "text.tenth_cos": 0.02, "text.spread": 0.008,
    "image.best_cos": 0.02,
}


@pytest.fixture(scope="module")
def geometry(real, synth, gaussian) -> dict[str, dict]:
    return {"real": _stats(real), "synth": _stats(synth), "gaussian": _stats(gaussian)}


@pytest.mark.parametrize("key", list(GEOMETRY))
def test_geometry_matches_real_clip(geometry, key):
    assert abs(geometry["synth"][key] - geometry["real"][key]) <= GEOMETRY[key], (
        f"{key}: synthetic {geometry['synth'][key]:.3f}, real {geometry['real'][key]:.3f}")


@pytest.mark.parametrize("key", list(GEOMETRY))
def test_gaussian_fails_geometry(geometry, key):
    """The tolerances are tight enough to reject isotropic data."""
    assert abs(geometry["gaussian"][key] - geometry["real"][key]) > GEOMETRY[key]


# --- index difficulty ---------------------------------------------------------

def _recall(I: np.ndarray, truth: np.ndarray) -> float:
    return float((I[:, :, None] == truth[:, None, :]).any(axis=2).mean())


def _ivf_recall(xb: np.ndarray, xq: np.ndarray, truth: np.ndarray) -> float:
    out = []
    for seed in IVF["seeds"]:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(xb.shape[1]), xb.shape[1], IVF["nlist"], faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.cp.min_points_per_centroid = 1  # 1000 points for 32 lists: faiss would warn
        index.train(xb)
        index.add(xb)
        index.nprobe = IVF["nprobe"]
        out.append(_recall(index.search(xq, K)[1], truth))
    return float(np.mean(out))


def _hnsw_recall(xb: np.ndarray, xq: np.ndarray, truth: np.ndarray) -> float:
    index = faiss.IndexHNSWFlat(xb.shape[1], HNSW["M"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW["efConstruction"]
    index.add(xb)
    index.hnsw.efSearch = HNSW["efSearch"]
    return _recall(index.search(xq, K)[1], truth)


def _difficulty(w: Workload) -> dict[str, float]:
    out = {}
    for name, pairs in (("t2i", [(w.images, w.texts)]), ("i2i", w.i2i)):
        for index, fn in (("ivf", _ivf_recall), ("hnsw", _hnsw_recall)):
            scores = [fn(xb, xq, exact_knn(xb, xq, K)[1]) for xb, xq in pairs]
            out[f"{name}.{index}"] = float(np.mean(scores))
    return out


# recall@10 -> absolute tolerance, chosen as for GEOMETRY. Text-to-image IVF is the
# noisiest measure (1000 points, 32 lists: the k-means seed alone moves it by 0.07).
DIFFICULTY = {"t2i.ivf": 0.08, "t2i.hnsw": 0.06, "i2i.ivf": 0.06, "i2i.hnsw": 0.05}


@pytest.fixture(scope="module")
def difficulty(real, synth, gaussian) -> dict[str, dict]:
    return {"real": _difficulty(real), "synth": _difficulty(synth), "gaussian": _difficulty(gaussian)}


@pytest.mark.parametrize("key", list(DIFFICULTY))
def test_index_difficulty_matches_real_clip(difficulty, key):
    assert abs(difficulty["synth"][key] - difficulty["real"][key]) <= DIFFICULTY[key], (
        f"{key}: synthetic {difficulty['synth'][key]:.3f}, real {difficulty['real'][key]:.3f}")


@pytest.mark.parametrize("key", list(DIFFICULTY))
def test_gaussian_fails_index_difficulty(difficulty, key):
    assert abs(difficulty["gaussian"][key] - difficulty["real"][key]) > DIFFICULTY[key]


# --- the generator ------------------------------------------------------------

def test_deterministic_unit_float32():
    a = sample_clip_synth(300, 40, d=64, seed=3)
    b = sample_clip_synth(300, 40, d=64, seed=3)
    c = sample_clip_synth(300, 40, d=64, seed=4)
    for x, y, z in zip(a, b, c):
        assert x.dtype == np.float32 and x.shape[1] == 64
        assert x.tobytes() == y.tobytes()
        assert not np.array_equal(x, z)
        assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert [len(x) for x in a] == [300, 40, 40]


def test_rows_do_not_depend_on_sizes():
    """A larger request extends a smaller one: the base rows are a fixed stream."""
    small, big = sample_clip_synth(100, 10, d=32, nq_image=5), sample_clip_synth(5000, 30, d=32, nq_image=50)
    for x, y in zip(small, big):
        assert np.array_equal(x, y[:len(x)])


def test_image_queries_are_not_base_rows():
    xb, _, xq = sample_clip_synth(2000, 200, d=64)
    assert (xq @ xb.T).max() < 0.999


def test_written_file_reads_back_with_exact_ground_truth(tmp_path):
    path = make_clip_synth(tmp_path / "cs.hdf5", n=2500, nq=30, d=48, seed=7, k=20, chunk=1000)
    ds = read_dataset(path)
    xb, texts, images = sample_clip_synth(2500, 30, d=48, seed=7)
    assert ds.metric == "angular" and ds.base_modality == "image"
    assert list(ds.query_sets) == ["text", "image"]
    assert np.array_equal(ds.xb, xb)  # written in chunks of 1000 = generated at once
    for name, xq in (("text", texts), ("image", images)):
        qs = ds.query_sets[name]
        assert qs.modality == name and np.array_equal(qs.queries, xq)
        D, I = exact_knn(xb, xq, 20)
        assert np.array_equal(qs.neighbors, I)
        np.testing.assert_allclose(qs.distances, D, atol=1e-6)
    with h5py.File(path, "r") as f:  # the ann-benchmarks view is the text-to-image set
        assert np.array_equal(f["test"][()], texts) and f.attrs["distance"] == "angular"


def test_depth_is_capped_by_n_and_files_are_not_replaced_silently(tmp_path):
    path = make_clip_synth(tmp_path / "cs.hdf5", n=40, nq=3, d=16, k=100)
    assert read_dataset(path).query_sets["text"].gt_depth == 40
    with pytest.raises(UserError, match="exists"):
        make_clip_synth(path, n=40, nq=3, d=16)
    make_clip_synth(path, n=50, nq=3, d=16, force=True)
    assert read_dataset(path).nb == 50


def test_bad_arguments(tmp_path):
    with pytest.raises(UserError):
        sample_clip_synth(10, 2, d=4)
    with pytest.raises(UserError):
        make_clip_synth(tmp_path / "x.hdf5", n=0)


def _peak_bytes(path, n: int, d: int, chunk: int) -> int:
    tracemalloc.start()
    try:
        make_clip_synth(path, n=n, nq=20, d=d, k=10, chunk=chunk)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_chunk(tmp_path):
    """Peak memory does not grow with n: the base (here 12.8 MB) only ever exists chunk by chunk."""
    d, chunk = 32, 4096
    _peak_bytes(tmp_path / "warm.hdf5", 100, d, chunk)  # lazy imports are not the generator's memory
    small = _peak_bytes(tmp_path / "small.hdf5", 20_000, d, chunk)
    big = _peak_bytes(tmp_path / "big.hdf5", 100_000, d, chunk)
    base_bytes = 100_000 * d * 4
    assert big < small + 0.05 * base_bytes
    assert big < 0.3 * base_bytes

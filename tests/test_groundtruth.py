import numpy as np
import pytest
from conftest import brute_force

from annbench.errors import UserError
from annbench.groundtruth import exact_knn


def _same_up_to_ties(I, ref_I, ref_D, tol=1e-6):
    """Ids may differ only where the reference distances tie."""
    diff = I != ref_I
    if not diff.any():
        return True
    rows, cols = np.nonzero(diff)
    for r, c in zip(rows, cols):
        d = ref_D[r, c]
        if not (np.abs(ref_D[r] - d) <= tol).sum() > 1:
            return False
    return True


@pytest.mark.parametrize("block", [97, 500, 100_000])
def test_angular_matches_float64_brute_force(unit_data, block):
    xb, xq = unit_data
    D, I = exact_knn(xb, xq, 100, "angular", block=block)
    ref_D, ref_I = brute_force(xb, xq, 100, "angular")
    assert D.shape == I.shape == (50, 100) and I.dtype == np.int64
    assert _same_up_to_ties(I, ref_I, ref_D)
    assert np.abs(D - ref_D).max() < 1e-5


def test_euclidean_on_real_sift(tmp_path):
    from conftest import SHARED

    path = SHARED / "sift-5k" / "sift-dataset-5k.tsv"
    if not path.exists():
        pytest.skip("SIFT data not found")
    x = np.loadtxt(path, delimiter="\t")[:, :128].astype(np.float32)
    xb, xq = x[100:], x[:100]
    D, I = exact_knn(xb, xq, 100, "euclidean", block=1000)
    ref_D, ref_I = brute_force(xb, xq, 100, "euclidean")
    assert _same_up_to_ties(I, ref_I, ref_D)
    np.testing.assert_allclose(D, ref_D, rtol=1e-6, atol=1e-5)


def test_real_clip_text_to_image(clip_arrays):
    xb = clip_arrays["images"] / np.linalg.norm(clip_arrays["images"], axis=1, keepdims=True)
    xq = clip_arrays["texts"] / np.linalg.norm(clip_arrays["texts"], axis=1, keepdims=True)
    D, I = exact_knn(xb, xq, 100, "angular", block=256)
    ref_D, ref_I = brute_force(xb, xq, 100, "angular")
    assert _same_up_to_ties(I, ref_I, ref_D)
    assert np.abs(D - ref_D).max() < 1e-5
    # the compressed cross-modal similarities of the README: best match ~0.26
    assert 0.24 < (1 - D[:, 0]).mean() < 0.28


def test_ties_are_broken_by_id():
    xb = np.tile(np.eye(4, dtype=np.float32), (3, 1))  # every vector three times
    D, I = exact_knn(xb, np.eye(4, dtype=np.float32)[:1], 3, "angular", block=5)
    assert sorted(I[0].tolist()) == [0, 4, 8]
    assert np.allclose(D, 0)


def test_streams_an_h5py_dataset(tmp_path, unit_data):
    import h5py

    xb, xq = unit_data
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f["train"] = xb
    with h5py.File(tmp_path / "b.h5", "r") as f:
        D, I = exact_knn(f["train"], xq, 10, "angular", block=300)
    D2, I2 = exact_knn(xb, xq, 10, "angular")
    assert (I == I2).all() and np.allclose(D, D2)


def test_k_larger_than_n_is_an_error(unit_data):
    xb, xq = unit_data
    with pytest.raises(UserError, match="exceeds the base size"):
        exact_knn(xb[:5], xq, 10, "angular")


def test_near_duplicates_beyond_the_margin_are_ranked_exactly(monkeypatch):
    """400 near-copies of one vector all score within float32 error of each other:
    float32 alone misranks them; the bound sends the query back for more candidates
    until none is left within it, and float64 re-scoring ranks them exactly."""
    import faiss

    from annbench.groundtruth import exact as groundtruth

    rng = np.random.default_rng(7)
    d = 128
    centre = rng.standard_normal(d)
    dups = centre + 3e-6 * rng.standard_normal((400, d)) * np.abs(centre).mean()
    others = rng.standard_normal((1000, d))
    xb = np.vstack([others[:500], dups, others[500:]])
    xb = (xb / np.linalg.norm(xb, axis=1, keepdims=True)).astype(np.float32)
    xq = centre + 0.3 * rng.standard_normal((5, d)) * np.abs(centre).mean()
    xq = (xq / np.linalg.norm(xq, axis=1, keepdims=True)).astype(np.float32)
    ref_D, ref_I = brute_force(xb, xq, 10, "angular")
    _, f32_I = faiss.knn(xq, xb, 10, metric=faiss.METRIC_INNER_PRODUCT)
    assert (f32_I != ref_I).any()  # float32 alone gets this wrong

    passes = []
    search = groundtruth._search
    monkeypatch.setattr(groundtruth, "_search", lambda *a: passes.append(a[2]) or search(*a))
    D, I = exact_knn(xb, xq, 10, "angular", block=300)
    assert passes[0] == 10 + groundtruth._margin(10) and len(passes) > 1
    assert (I == ref_I).all()  # random data: no exact ties to excuse
    assert np.abs(D - ref_D).max() < 1e-6


def _gpus() -> int:
    import faiss

    return faiss.get_num_gpus() if hasattr(faiss, "StandardGpuResources") else 0


@pytest.mark.gpu
@pytest.mark.skipif(_gpus() == 0, reason="faiss sees no GPU")
@pytest.mark.parametrize("metric", ["angular", "euclidean"])
def test_gpu_blocks_match_float64_brute_force(unit_data, metric):
    xb, xq = unit_data
    D, I = exact_knn(xb, xq, 100, metric, block=700, use_gpu=True)
    ref_D, ref_I = brute_force(xb, xq, 100, metric)
    assert _same_up_to_ties(I, ref_I, ref_D)
    assert np.abs(D - ref_D).max() < 1e-5


@pytest.mark.skipif(_gpus() > 0, reason="a GPU is present")
def test_asking_for_a_missing_gpu_is_an_error(unit_data):
    xb, xq = unit_data
    with pytest.raises(UserError, match="GPU"):
        exact_knn(xb, xq, 10, "angular", use_gpu=True)


def test_euclidean_exact_when_norms_dwarf_distances():
    """Vectors 1000 from the origin, neighbours a few float32 steps apart: float32 L2
    cannot rank them, and neither can float64 |x|^2 + |q|^2 - 2<x,q>."""
    rng = np.random.default_rng(2)
    d, centre = 64, np.full(64, 1000.0, dtype=np.float32)
    step = np.spacing(np.float32(1000.0))
    xb = (centre + step * rng.integers(-3, 4, size=(3000, d))).astype(np.float32)
    xq = (centre + step * rng.integers(-3, 4, size=(20, d))).astype(np.float32)
    D, I = exact_knn(xb, xq, 10, "euclidean")
    ref_D, ref_I = brute_force(xb, xq, 10, "euclidean")
    assert _same_up_to_ties(I, ref_I, ref_D, tol=1e-12)
    assert np.abs(D - ref_D).max() < 1e-5


def test_one_far_vector_does_not_widen_every_query(monkeypatch):
    from annbench.groundtruth import exact as groundtruth

    rng = np.random.default_rng(0)
    xb = rng.standard_normal((20000, 64)).astype(np.float32)
    xq = rng.standard_normal((200, 64)).astype(np.float32)
    xb[12345] *= 300  # one outlier: the largest norm of the base
    passes = []
    search = groundtruth._search
    monkeypatch.setattr(groundtruth, "_search", lambda *a: passes.append(a[2]) or search(*a))
    D, I = exact_knn(xb, xq, 10, "euclidean")
    assert passes == [10 + groundtruth._margin(10)]  # one pass: the bound is each query's own
    ref_D, ref_I = brute_force(xb, xq, 10, "euclidean")
    assert _same_up_to_ties(I, ref_I, ref_D) and np.abs(D - ref_D).max() < 1e-5


def test_no_queries():
    xb = np.eye(4, dtype=np.float32)
    D, I = exact_knn(xb, np.zeros((0, 4), np.float32), 2, "euclidean")
    assert D.shape == I.shape == (0, 2)

"""Binary codes of CLIP vectors: bit arithmetic, exact binary truth, binarize, the parent link, bit files."""

import shutil

import h5py
import numpy as np
import pytest
from conftest import run_cli

from annbench.data.binarize import fit_encoder, write_binary
from annbench.data.bits import distance_matrix, distances_of, packed_bits
from annbench.data.hdf5io import describe, read_dataset, write_dataset
from annbench.data.parent import float_truth, load_parent
from annbench.errors import UserError
from annbench.groundtruth.binary import exact_binary_knn
from annbench.groundtruth.build_binary import binarize
from annbench.metrics import recall_strict


def reference_distances(xb, xq, metric):
    """float64 brute force on unpacked bits."""
    a = np.unpackbits(xq, axis=1).astype(np.float64)
    b = np.unpackbits(xb, axis=1).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return union - inter if metric == "hamming" else np.where(union > 0, 1 - inter / np.maximum(union, 1), 0.0)


def reference_knn(xb, xq, k, metric):
    """(distances, ids) best first, ties by id."""
    dist = reference_distances(xb, xq, metric)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, 1), order


@pytest.fixture
def codes():
    """Small random codes with many exact ties (few bits set), plus duplicates and an empty code."""
    rng = np.random.default_rng(7)
    xb = np.packbits(rng.random((700, 64)) < 0.08, axis=1)
    xb[10], xb[20] = xb[5], 0
    xq = np.packbits(rng.random((40, 64)) < 0.08, axis=1)
    xq[0] = 0
    return xb, xq


@pytest.mark.parametrize("metric", ["hamming", "jaccard"])
def test_exact_binary_truth_matches_float64_brute_force_ties_by_id(codes, metric):
    xb, xq = codes
    D, I = exact_binary_knn(xb, xq, 25, metric, block=128)  # several blocks: the merge keeps id order
    ref_D, ref_I = reference_knn(xb, xq, 25, metric)
    assert I.dtype == np.int64 and D.dtype == np.float32 and I.shape == (40, 25)
    assert np.array_equal(I, ref_I)
    assert np.allclose(D, ref_D, atol=1e-6)
    assert np.allclose(distance_matrix(xq, xb, metric), reference_distances(xb, xq, metric))
    got = distances_of(xb, xq, np.hstack([I[:, :3], -np.ones((40, 1), np.int64)]), metric)
    assert np.allclose(got[:, :3], ref_D[:, :3]) and np.isinf(got[:, 3]).all()


def test_packed_bits_accepts_ann_benchmarks_booleans_and_refuses_floats():
    bits = np.random.default_rng(0).random((5, 16)) < 0.5
    packed = np.packbits(bits, axis=1)
    assert np.array_equal(packed_bits(bits, 16, "train"), packed)
    assert np.array_equal(packed_bits(packed, 16, "train"), packed)
    assert np.array_equal(packed_bits(bits.astype(np.int8), 16, "train"), packed)
    with pytest.raises(UserError, match="found float32 with 16 columns"):
        packed_bits(bits.astype(np.float32), 16, "train")
    with pytest.raises(UserError, match="multiple of 8"):
        packed_bits(bits[:, :12], 12, "train")
    with pytest.raises(UserError, match="sparse"):
        packed_bits(np.arange(10), 16, "train")


def test_centring_makes_every_bit_count(t2i_dataset):
    """Raw signs of CLIP vectors are mostly fixed by the shared mean; centred ones split the base."""
    xb = t2i_dataset.xb
    raw = np.unpackbits(np.packbits(xb > 0, axis=1), axis=1).mean(axis=0)
    centred = np.unpackbits(fit_encoder("sign", xb, 512).encode(xb), axis=1).mean(axis=0)
    assert np.abs(centred - 0.5).mean() < 0.02 and np.abs(raw - 0.5).mean() > 0.1   # measured 0.011, 0.140
    assert (np.abs(raw - 0.5) > 0.3).sum() > 30 and (np.abs(centred - 0.5) > 0.3).sum() == 0  # 36 near-constant raw bits


def _recall_float(ds, truths, k=10):
    qs = ds.query_sets["text"]
    I_float = truths["text"][0]
    return recall_strict(qs.neighbors, I_float, k).mean()


@pytest.fixture(scope="module")
def binarized(t2i_dataset):
    """ITQ at 256 bits: it trains in ~2 s here (11 s at 512), and beats 512 LSH bits anyway."""
    return {m: binarize(t2i_dataset, m, bits) for m, bits in (("sign", 512), ("itq", 256), ("lsh", 512))}


def test_binarize_real_text_to_image(t2i_dataset, binarized):
    text = t2i_dataset.query_sets["text"]
    for method, (ds, truths) in binarized.items():
        qs = ds.query_sets["text"]
        assert ds.point_type == "bit" and ds.metric == "hamming" and ds.xb.dtype == np.uint8
        nbytes = 32 if method == "itq" else 64
        assert ds.xb.shape == (1000, nbytes) and qs.queries.shape == (2148, nbytes) and qs.gt_depth == 100
        assert qs.labels == text.labels and qs.modality == "text"
        assert np.array_equal(truths["text"][0], text.neighbors)
        ref_D, ref_I = reference_knn(ds.xb, qs.queries[:200], 100, "hamming")
        assert np.array_equal(qs.neighbors[:200], ref_I) and np.array_equal(qs.distances[:200], ref_D)
    # cross-modal CLIP search is hard for 512-bit codes (top-10 cosines lie within 0.025)
    quality = {m: _recall_float(*binarized[m]) for m in binarized}
    assert quality["lsh"] < quality["sign"] < quality["itq"] < 0.5   # measured 0.10, 0.28, 0.34


def test_binarize_is_deterministic_and_seeded(t2i_dataset, binarized):
    again, _ = binarize(t2i_dataset, "lsh", 512, seed=0)
    other, _ = binarize(t2i_dataset, "lsh", 512, seed=1)
    assert np.array_equal(again.xb, binarized["lsh"][0].xb) and not np.array_equal(other.xb, again.xb)


def test_lsh_any_width_itq_up_to_d_and_jaccard(t2i_dataset):
    ds, _ = binarize(t2i_dataset, "lsh", 1024, distance="jaccard")
    assert ds.xb.shape == (1000, 128) and ds.metric == "jaccard"
    assert (ds.query_sets["text"].distances <= 1).all()
    ds, _ = binarize(t2i_dataset, "itq", 64)
    assert ds.xb.shape == (1000, 8)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "itq", "bits": 1024}, "exceeds the dimension d=512"),
    ({"method": "lsh", "bits": 100}, "multiple of 8"),
    ({"method": "sign", "bits": 256}, "one bit per dimension"),
    ({"method": "pca", "bits": 64}, "unknown binarization method"),
    ({"method": "lsh", "bits": 64, "distance": "cosine"}, "unknown binary distance"),
])
def test_binarize_refuses_impossible_settings(t2i_dataset, kwargs, message):
    with pytest.raises(UserError, match=message):
        binarize(t2i_dataset, **kwargs)


def test_binarize_refuses_a_binary_parent(t2i_dataset, binarized):
    with pytest.raises(UserError, match="already binary"):
        binarize(binarized["sign"][0], "lsh", 64)


@pytest.fixture
def pair(tmp_path, t2i_dataset, binarized):
    """A float parent and its sign codes, written as files side by side."""
    parent_path = write_dataset(t2i_dataset, tmp_path / "t2i.hdf5")
    ds, truths = binarized["sign"]
    child = write_binary(ds, truths, t2i_dataset, parent_path, tmp_path / "t2i-sign512.hdf5")
    return parent_path, child


def test_written_codes_read_back_with_both_truths_and_the_parent(pair, t2i_dataset, binarized):
    parent_path, child = pair
    back = read_dataset(child)
    ds, truths = binarized["sign"]
    assert back.point_type == "bit" and back.metric == "hamming" and np.array_equal(back.xb, ds.xb)
    assert np.array_equal(back.query_sets["text"].neighbors, ds.query_sets["text"].neighbors)
    assert back.attrs["binarize_method"] == "sign" and back.attrs["bits"] == 512
    info = describe(child)
    assert info["d"] == 512 and info["point_type"] == "bit" and info["parent"] == str(parent_path.resolve())
    I, D = float_truth(child, back)["text"]
    assert np.array_equal(I, t2i_dataset.query_sets["text"].neighbors) and D.dtype == np.float32
    parent = load_parent(child)
    assert np.array_equal(parent.xb, t2i_dataset.xb)
    with h5py.File(child) as f:  # what an ann-benchmarks reader sees: packed bytes, bit attrs
        assert f.attrs["point_type"] == "bit" and f.attrs["distance"] == "hamming" and f["train"].dtype == np.uint8
    again = read_dataset(write_dataset(back, child.parent / "copy.hdf5"))   # the plain writer keeps bits as bits
    assert np.array_equal(again.xb, back.xb) and describe(child.parent / "copy.hdf5")["d"] == 512


def test_parent_moved_together_is_found_moved_alone_or_changed_is_an_error(pair, tmp_path, t2i_dataset):
    parent_path, child = pair
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(parent_path, moved / parent_path.name)
    shutil.move(child, moved / child.name)
    assert load_parent(moved / child.name).nb == 1000          # found beside the child, by relative path
    shutil.move(moved / parent_path.name, tmp_path / "elsewhere.hdf5")
    with pytest.raises(UserError, match="float parent .* is gone"):
        load_parent(moved / child.name)
    other = read_dataset(tmp_path / "elsewhere.hdf5")
    other.xb = other.xb[::-1].copy()                            # same n and d, other vectors
    write_dataset(other, moved / parent_path.name)
    with pytest.raises(UserError, match="fingerprint differs"):
        load_parent(moved / child.name)
    other.xb = other.xb[:900]
    write_dataset(other, moved / parent_path.name, force=True)
    with pytest.raises(UserError, match="mismatched parent"):
        load_parent(moved / child.name)


def _ann_benchmarks_bit_file(path, distance, train, test, point_type="bit"):
    with h5py.File(path, "w") as f:
        f.attrs.update({"type": "dense", "distance": distance, "dimension": train.shape[1], "point_type": point_type})
        f["train"], f["test"] = train, test
        f["neighbors"] = np.zeros((len(test), 5), np.int32)
        f["distances"] = np.zeros((len(test), 5), np.float32)


def test_ann_benchmarks_bit_datasets_load_packed(tmp_path):
    rng = np.random.default_rng(3)
    train, test = rng.random((50, 24)) < 0.5, rng.random((4, 24)) < 0.5
    _ann_benchmarks_bit_file(tmp_path / "b.hdf5", "jaccard", train, test)
    ds = read_dataset(tmp_path / "b.hdf5")
    assert ds.xb.dtype == np.uint8 and ds.xb.shape == (50, 3) and ds.point_type == "bit"
    assert np.array_equal(np.unpackbits(ds.xb, axis=1).astype(bool), train)
    assert np.array_equal(np.unpackbits(ds.query_sets["test"].queries, axis=1).astype(bool), test)
    _ann_benchmarks_bit_file(tmp_path / "f.hdf5", "hamming", train.astype(np.float32) * 0.5, test.astype(np.float32))
    with pytest.raises(UserError, match="bit dataset needs booleans"):
        read_dataset(tmp_path / "f.hdf5")


def test_cli_binarize_and_its_errors(tmp_path, pair):
    parent_path, child = pair
    r = run_cli("datasets", "--dir", str(tmp_path), "binarize", "t2i", "--method", "lsh", "--bits", "256",
                "--distance", "jaccard", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "t2i-lsh256-jaccard.hdf5"
    assert "32 bytes/vector" in r.stdout and read_dataset(out).metric == "jaccard"
    cases = [
        (["t2i", "--method", "lsh", "--bits", "256", "--distance", "jaccard"], "--force"),
        (["t2i", "--method", "lsh", "--bits", "100"], "multiple of 8"),
        (["t2i", "--method", "itq", "--bits", "1024"], "exceeds the dimension"),
        (["t2i", "--method", "bogus"], "invalid choice: 'bogus'"),
        ([str(child), "--method", "lsh", "--bits", "64"], "already binary"),
        (["nowhere", "--method", "sign"], "no dataset named 'nowhere'"),
    ]
    for args, message in cases:
        r = run_cli("datasets", "--dir", str(tmp_path), "binarize", *args, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr

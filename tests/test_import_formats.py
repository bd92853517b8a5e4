"""Importers of published formats: each test makes a small file of the format, imports it through the
CLI, checks the dataset against a float64 brute force, sweeps it, and checks bad input and bad truth.

clip-retrieval folders use the real CLIP ViT-B/32 image vectors of ../shared/data. That data has no
caption embeddings, so each image's "caption" vector is made from the image: the image vector plus the
modality offset (mean real text vector minus mean image vector) plus seeded noise, then normalised.
The captions themselves are the real Flickr8k captions of the images.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, brute_force, run_cli

from annbench import load_results
from annbench.data.hdf5io import read_dataset

SHARDS = (400, 350, 250)  # rows of the three clip-retrieval shards (the 1000 real images)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _assert_truth(xb: np.ndarray, qs, metric: str) -> None:
    """Stored truth = float64 brute force: distances within 1e-5 (relative to float32 rounding when the
    distances are large), ids equal except between ties."""
    k = qs.gt_depth
    ref_D, ref_I = brute_force(xb, qs.queries, k, metric)
    tol = 1e-5 + 1e-6 * np.abs(ref_D)
    assert (np.abs(qs.distances - ref_D) < tol).all()
    xb64, xq64 = xb.astype(np.float64), qs.queries.astype(np.float64)
    if metric == "angular":
        own = 1 - np.einsum("qkd,qd->qk", xb64[qs.neighbors], xq64)
    else:
        own = np.linalg.norm(xb64[qs.neighbors] - xq64[:, None, :], axis=2)
    assert (np.abs(own - qs.distances) < tol).all()  # each stored id sits at its stored distance
    for r, c in zip(*np.nonzero(qs.neighbors != ref_I)):
        assert (np.abs(ref_D[r] - ref_D[r, c]) <= 1e-6).sum() > 1, "ids differ outside a tie"


def _source_rows(x: np.ndarray, source: np.ndarray) -> np.ndarray:
    sims = x.astype(np.float64) @ _unit(source.astype(np.float64)).T
    assert (sims.max(axis=1) > 1 - 1e-6).all()
    return sims.argmax(axis=1)


def _sweep(dataset, results, index: str = "flat") -> None:
    r = run_cli("sweep", "--dataset", str(dataset), "--index", index, "--nq", "10", "--k", "10",
                "--min-time", "0.01", "--repeats", "1", "--threads", "1", "--results", str(results))
    assert r.returncode == 0, r.stderr
    df = load_results(results)
    assert len(df) and (df["status"] == "ok").all()
    assert (df["recall"] == 1.0).all() and (df["recall_ties"] == 1.0).all()


def _fails(r, message: str, out) -> None:
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(".")] if out.parent.exists() else []
    assert leftovers == []


# ---------------------------------------------------------------- clip-retrieval

def _write_clip_folder(root, images, texts, captions, shards=SHARDS, dtype=np.float16):
    for part in ("img_emb", "text_emb", "metadata"):
        (root / part).mkdir(parents=True, exist_ok=True)
    start = 0
    for i, rows in enumerate(shards):
        part = slice(start, start + rows)
        np.save(root / "img_emb" / f"img_emb_{i}.npy", images[part].astype(dtype))
        np.save(root / "text_emb" / f"text_emb_{i}.npy", texts[part].astype(dtype))
        pq.write_table(pa.table({"caption": captions[part], "url": [f"https://x/{j}.jpg" for j in range(part.start, part.stop)]}),
                       root / "metadata" / f"metadata_{i}.parquet", row_group_size=128)
        start += rows
    return root


@pytest.fixture
def clip_folder(tmp_path, clip_arrays):
    images = _unit(clip_arrays["images"].astype(np.float64))
    offset = _unit(clip_arrays["texts"].astype(np.float64)).mean(0) - images.mean(0)  # the modality gap
    noise = np.random.default_rng(7).standard_normal(images.shape) * (0.3 / np.sqrt(images.shape[1]))
    texts = _unit(images + offset + noise)
    root = _write_clip_folder(tmp_path / "clip", images, texts, clip_arrays["captions"])
    return root, images.astype(np.float16).astype(np.float32), texts.astype(np.float16).astype(np.float32)


def test_clip_retrieval_folder(tmp_path, clip_folder, clip_arrays):
    root, images, texts = clip_folder
    out = tmp_path / "ds" / "flickr.hdf5"
    r = run_cli("datasets", "import-clip-retrieval", str(root), "--name", "flickr", "--queries", "40",
                "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "text (40, K=100, computed)" in r.stdout and "image (40, K=100, computed)" in r.stdout
    ds = read_dataset(out)
    text, image = ds.query_sets["text"], ds.query_sets["image"]
    assert ds.metric == "angular" and ds.base_modality == "image" and list(ds.query_sets) == ["text", "image"]
    assert ds.nb == 960 and ds.d == 512 and text.nq == image.nq == 40
    assert np.allclose(np.linalg.norm(ds.xb, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(text.queries, axis=1), 1, atol=1e-5)
    captions = clip_arrays["captions"]
    # which source row became what: each base vector and image query is one source image (cosine ~1)
    base_rows, held = _source_rows(ds.xb, images), _source_rows(image.queries, images)
    assert np.array_equal(base_rows, np.setdiff1d(np.arange(1000), held))  # shard order kept, held-out removed
    assert ds.base_labels == [captions[i] for i in base_rows]
    assert image.labels == [captions[i] for i in held] and image.pairs is None
    # text queries: held-out captions whose paired image stayed in the base, found at base id `pairs`
    assert text.task == "paired" and text.pairs.shape == (40,) and (text.pairs >= 0).all()
    text_rows = base_rows[text.pairs]
    assert text.labels == [captions[i] for i in text_rows]
    assert np.allclose(text.queries, _unit(texts[text_rows].astype(np.float64)), atol=2e-3)
    hits = (text.neighbors[:, :10] == text.pairs[:, None]).any(axis=1).mean()
    assert hits > 0.9  # the made caption vectors sit near their images
    for qs in (text, image):
        _assert_truth(ds.xb, qs, "angular")
    _sweep(out, tmp_path / "res")


def test_clip_retrieval_with_a_text_base_pairs_images_with_their_captions(tmp_path, clip_folder, clip_arrays):
    """Image-to-text: the base holds the captions; held-out images find their own caption at ``pairs``."""
    root, images, texts = clip_folder
    out = tmp_path / "ds" / "captions.hdf5"
    r = run_cli("datasets", "import-clip-retrieval", str(root), "--name", "captions", "--queries", "40",
                "--seed", "3", "--base", "text", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ds = read_dataset(out)
    image, text = ds.query_sets["image"], ds.query_sets["text"]
    assert ds.base_modality == "text" and list(ds.query_sets) == ["text", "image"] and ds.nb == 960
    assert image.task == "paired" and (image.pairs >= 0).all() and text.pairs is None
    base_rows = _source_rows(ds.xb, texts)
    assert np.array_equal(base_rows[image.pairs], _source_rows(image.queries, images))  # each image's caption
    assert ds.base_labels == [clip_arrays["captions"][i] for i in base_rows]
    for qs in (text, image):
        _assert_truth(ds.xb, qs, "angular")


def test_clip_retrieval_max_n_and_float32_shards(tmp_path, clip_arrays):
    images = _unit(clip_arrays["images"].astype(np.float64)).astype(np.float32)
    root = _write_clip_folder(tmp_path / "c32", images, images, clip_arrays["captions"], dtype=np.float32)
    out = tmp_path / "small.hdf5"
    r = run_cli("datasets", "import-clip-retrieval", str(root), "--name", "s", "--max-n", "500",
                "--queries", "20", "--k", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ds = read_dataset(out)
    assert ds.nb == 480 and ds.query_sets["text"].gt_depth == 10
    assert ds.attrs["source_rows"] == 500


def _mutate(case: str, root) -> tuple[list[str], str]:
    """Damage a clip-retrieval folder; returns extra CLI args and the expected message."""
    img, txt = root / "img_emb", root / "text_emb"
    if case == "missing folder":
        for p in txt.iterdir():
            p.unlink()
        txt.rmdir()
        return [], "missing the text_emb/ folder"
    if case == "shard count":
        (txt / "text_emb_2.npy").unlink()
        return [], "img_emb has shards 0,1,2 but text_emb has 0,1"
    if case == "row mismatch":
        np.save(txt / "text_emb_1.npy", np.load(txt / "text_emb_1.npy")[:-3])
        return [], "shard 1 holds 350 images, 347 text embeddings"
    if case == "dimension":
        np.save(img / "img_emb_1.npy", np.load(img / "img_emb_1.npy")[:, :256])
        return [], "dimension 256 does not match 512"
    if case == "nan":
        x = np.load(img / "img_emb_2.npy")
        x[17, 3] = np.nan
        np.save(img / "img_emb_2.npy", x)
        return [], "img_emb/img_emb_2.npy[0:250]: 1 row(s) hold NaN or inf (first: row 17)"
    if case == "zero vector":
        x = np.load(img / "img_emb_0.npy")
        x[5] = 0
        np.save(img / "img_emb_0.npy", x)
        return [], "zero vector"
    if case == "not npy":
        (img / "img_emb_1.npy").write_bytes(b"not an array at all")
        return [], "not a readable .npy array"
    if case == "wrong suffix":
        (img / "img_emb_1.npy").rename(img / "img_emb_1.npz")
        return [], "must be img_emb_N.npy"
    if case == "too many queries":
        return ["--queries", "600"], "--queries 600"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing folder", "shard count", "row mismatch", "dimension", "nan",
                                  "zero vector", "not npy", "wrong suffix", "too many queries"])
def test_clip_retrieval_bad_input_is_one_line(tmp_path, clip_folder, case):
    root, _, _ = clip_folder
    extra, message = _mutate(case, root)
    out = tmp_path / "ds" / "bad.hdf5"
    r = run_cli("datasets", "import-clip-retrieval", str(root), "--name", "bad", "--queries", "20",
                "--out", str(out), *extra)
    _fails(r, message, out)


# ---------------------------------------------------------------- big-ann-benchmarks

def _write_bin(path, x: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.array(x.shape, dtype="<u4").tofile(fh)
        x.tofile(fh)


def _write_truth(path, I: np.ndarray, D: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.array(I.shape, dtype="<u4").tofile(fh)
        I.astype("<i4").tofile(fh)
        D.astype("<f4").tofile(fh)


@pytest.fixture
def u8bin(tmp_path):
    """SIFT-like uint8 vectors (euclidean) with their float64 truth, K=20."""
    rng = np.random.default_rng(11)
    xb = rng.integers(0, 64, (3000, 32), dtype=np.uint8)
    xq = rng.integers(0, 64, (40, 32), dtype=np.uint8)
    D, I = brute_force(xb.astype(np.float32), xq.astype(np.float32), 20, "euclidean")
    _write_bin(tmp_path / "base.u8bin", xb)
    _write_bin(tmp_path / "query.u8bin", xq)
    _write_truth(tmp_path / "gt.ibin", I, D ** 2)  # supplied distances in another convention: not used
    return tmp_path, xb, xq, I


def test_bab_u8bin_with_verified_truth(u8bin):
    root, xb, xq, I = u8bin
    r = run_cli("datasets", "--dir", "ds", "import-bab", "sift", "--base", "base.u8bin", "--queries", "query.u8bin",
                "--truth", "gt.ibin", "--metric", "euclidean", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "test (40, K=20, supplied, verified on 40 sampled queries)" in r.stdout
    ds = read_dataset(root / "ds" / "sift.hdf5")
    assert ds.metric == "euclidean" and ds.nb == 3000 and np.array_equal(ds.xb, xb.astype(np.float32))
    qs = ds.query_sets["test"]
    _assert_truth(ds.xb, qs, "euclidean")  # L2, not the squared distances of the file
    _sweep(root / "ds" / "sift.hdf5", root / "res")


def test_bab_fbin_angular_computed_and_cropped(tmp_path, clip_arrays):
    xb = clip_arrays["images"][:800]
    xq = clip_arrays["texts"][:30]  # not normalised (norm ~10): made unit-norm on import
    _write_bin(tmp_path / "b.fbin", xb)
    _write_bin(tmp_path / "q.fbin", xq)
    r = run_cli("datasets", "import-bab", "t2i", "--base", "b.fbin", "--queries", "q.fbin", "--metric", "angular",
                "--max-n", "600", "--k", "50", "--query-set", "text", "--out", "t2i.hdf5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ds = read_dataset(tmp_path / "t2i.hdf5")
    text = ds.query_sets["text"]
    assert ds.nb == 600 and text.gt_depth == 50 and text.modality == "text"
    assert np.allclose(np.linalg.norm(text.queries, axis=1), 1, atol=1e-5)
    _assert_truth(_unit(xb[:600].astype(np.float64)), text, "angular")


def test_bab_ties_are_not_disagreements(tmp_path):
    """A supplied truth that picks the other one of two identical base vectors is right."""
    rng = np.random.default_rng(5)
    half = rng.standard_normal((500, 16)).astype(np.float32)
    xb = np.vstack([half, half])  # row i and row i + 500 are the same vector
    xq = rng.standard_normal((20, 16)).astype(np.float32)
    D, I = brute_force(xb, xq, 10, "euclidean")
    swapped = np.where(I < 500, I + 500, I - 500)  # the tied twin of every neighbour
    _write_bin(tmp_path / "b.fbin", xb)
    _write_bin(tmp_path / "q.fbin", xq)
    _write_truth(tmp_path / "gt.bin", swapped, D)
    r = run_cli("datasets", "import-bab", "twins", "--base", "b.fbin", "--queries", "q.fbin", "--truth", "gt.bin",
                "--metric", "euclidean", "--out", "twins.hdf5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert set(read_dataset(tmp_path / "twins.hdf5").query_sets["test"].neighbors.ravel()) == set(swapped.ravel())


def _corrupt(I: np.ndarray, rows: int, seed: int = 0) -> np.ndarray:
    """Replace the 3rd neighbour of the first ``rows`` queries by a far item (the query's worst)."""
    bad = I.copy()
    rng = np.random.default_rng(seed)
    for q in range(rows):
        candidates = np.setdiff1d(np.arange(I.max() + 1), I[q])
        bad[q, 2] = rng.choice(candidates)
    return bad


@pytest.mark.parametrize("damage, message", [
    ("swap", "disagrees with exact search on 7 of 40 sampled queries"),
    ("range", "queries name ids outside the base of 3000 rows"),
    ("size", "its header says"),
    ("count", "is for 39 queries, the query file holds 40"),
])
def test_bab_corrupted_truth_fails_and_writes_nothing(u8bin, damage, message):
    root, xb, xq, I = u8bin
    D = np.zeros(I.shape, np.float32)
    if damage == "swap":
        _write_truth(root / "gt.ibin", _corrupt(I, 7), D)
    elif damage == "range":
        bad = I.copy()
        bad[4, 0] = 3000
        _write_truth(root / "gt.ibin", bad, D)
    elif damage == "size":
        (root / "gt.ibin").write_bytes((root / "gt.ibin").read_bytes()[:-4])
    else:
        _write_truth(root / "gt.ibin", I[:39], D[:39])
    out = root / "ds" / "sift.hdf5"
    r = run_cli("datasets", "--dir", "ds", "import-bab", "sift", "--base", "base.u8bin", "--queries", "query.u8bin",
                "--truth", "gt.ibin", "--metric", "euclidean", cwd=root)
    _fails(r, message, out)


def test_bab_i8bin_and_bad_files(tmp_path):
    rng = np.random.default_rng(2)
    xb = rng.integers(-100, 100, (500, 24), dtype=np.int8)
    _write_bin(tmp_path / "b.i8bin", xb)
    _write_bin(tmp_path / "q.i8bin", xb[:12])
    r = run_cli("datasets", "import-bab", "i8", "--base", "b.i8bin", "--queries", "q.i8bin", "--metric", "euclidean",
                "--out", "i8.hdf5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ds = read_dataset(tmp_path / "i8.hdf5")
    assert np.array_equal(ds.xb, xb.astype(np.float32))
    _assert_truth(ds.xb, ds.query_sets["test"], "euclidean")
    _write_bin(tmp_path / "q7.fbin", np.ones((3, 7), np.float32))
    for args, message in ((["--queries", "q7.fbin"], "does not match the base dimension 24"),
                          (["--queries", "q.npy"], "not a big-ann-benchmarks vectors file"),
                          (["--queries", "q.i8bin", "--query-set", "a/b"], "query set name 'a/b': use letters")):
        r = run_cli("datasets", "import-bab", "x", "--base", "b.i8bin", "--metric", "euclidean", "--out", "x.hdf5",
                    *args, cwd=tmp_path)
        _fails(r, message, tmp_path / "x.hdf5")


# ---------------------------------------------------------------- VectorDBBench

def _write_vdbb(root, xb: np.ndarray, xq: np.ndarray, train_ids: np.ndarray, neighbors_ids: np.ndarray | None):
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": train_ids, "emb": list(xb.astype(np.float64))}), root / "train.parquet",
                   row_group_size=100)
    pq.write_table(pa.table({"id": np.arange(len(xq)), "emb": list(xq)}), root / "test.parquet")
    if neighbors_ids is not None:
        order = np.random.default_rng(0).permutation(len(xq))  # neighbours listed in another order than test
        pq.write_table(pa.table({"id": order, "neighbors_id": list(neighbors_ids[order])}), root / "neighbors.parquet")


@pytest.fixture
def vdbb(tmp_path, clip_arrays):
    """Real CLIP images as a shuffled VectorDBBench train set (ids not in row order), texts as test."""
    xb = _unit(clip_arrays["images"].astype(np.float64)).astype(np.float32)
    xq = _unit(clip_arrays["texts"][::40].astype(np.float64)).astype(np.float32)  # 54 class prompts
    train_ids = np.random.default_rng(1).permutation(1000) + 5000
    _, rows = brute_force(xb, xq, 30, "angular")
    _write_vdbb(tmp_path / "vdbb", xb, xq, train_ids, train_ids[rows])
    return tmp_path, xb, xq, train_ids, rows


def test_vdbb_folder_with_shuffled_ids(vdbb):
    root, xb, xq, train_ids, rows = vdbb
    out = root / "v.hdf5"
    r = run_cli("datasets", "import-vdbb", str(root / "vdbb"), "--name", "v", "--metric", "angular",
                "--out", str(out), "--query-set", "text")
    assert r.returncode == 0, r.stderr
    assert "text (54, K=30, supplied, verified on 54 sampled queries)" in r.stdout
    ds = read_dataset(out)
    assert ds.nb == 1000 and np.allclose(ds.xb, xb, atol=1e-6)  # base row i = i-th train row
    text = ds.query_sets["text"]
    assert np.array_equal(text.neighbors[:, 0], rows[:, 0])  # train ids mapped back to rows
    _assert_truth(ds.xb, text, "angular")
    _sweep(out, root / "res")


def test_vdbb_corrupted_neighbors_fail(vdbb):
    root, xb, xq, train_ids, rows = vdbb
    _write_vdbb(root / "vdbb", xb, xq, train_ids, train_ids[_corrupt(rows, 5)])
    out = root / "v.hdf5"
    r = run_cli("datasets", "import-vdbb", str(root / "vdbb"), "--name", "v", "--metric", "angular", "--out", str(out))
    _fails(r, "disagrees with exact search on 5 of 54 sampled queries", out)
    r = run_cli("datasets", "import-vdbb", str(root / "vdbb"), "--name", "v", "--metric", "angular", "--out", str(out),
                "--recompute-truth")
    assert r.returncode == 0, r.stderr
    _assert_truth(xb, read_dataset(out).query_sets["test"], "angular")


# ---------------------------------------------------------------- VIBE / ann-benchmarks HDF5

def _write_vibe(path, xb, xq, learn, neighbors, distance="normalized", point_type="float"):
    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f.attrs["dimension"] = xb.shape[1] if point_type != "binary" else xb.shape[1] * 8
        f.attrs["point_type"] = point_type
        f.create_dataset("train", data=xb)
        f.create_dataset("test", data=xq)
        if learn is not None:
            f.create_dataset("learn", data=learn)
        f.create_dataset("neighbors", data=neighbors)
        f.create_dataset("distances", data=np.zeros(neighbors.shape))


@pytest.fixture
def vibe(tmp_path, clip_arrays):
    images = _unit(clip_arrays["images"].astype(np.float64)).astype(np.float32)
    xb, xq, learn = images[:900], _unit(clip_arrays["texts"][:25].astype(np.float64)).astype(np.float32), images[900:]
    _, I = brute_force(xb, xq, 100, "angular")
    _write_vibe(tmp_path / "vibe.hdf5", xb, xq, learn, I)
    return tmp_path, xb, xq, learn, I


def test_vibe_normalized_with_learn(vibe):
    root, xb, xq, learn, I = vibe
    out = root / "ds" / "v.hdf5"
    r = run_cli("datasets", "import-vibe", str(root / "vibe.hdf5"), "--name", "v", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "'learn' (100 training queries) left out" in r.stdout
    ds = read_dataset(out)
    assert ds.metric == "angular" and ds.nb == 900  # learn is neither base nor queries
    assert list(ds.query_sets) == ["test"] and ds.attrs["source_distance"] == "normalized"
    _assert_truth(ds.xb, ds.query_sets["test"], "angular")
    _sweep(out, root / "res")


def test_vibe_corrupted_neighbors_and_ip_fail(vibe):
    root, xb, xq, learn, I = vibe
    _write_vibe(root / "bad.hdf5", xb, xq, learn, _corrupt(I, 3))
    out = root / "ds" / "v.hdf5"
    r = run_cli("datasets", "import-vibe", str(root / "bad.hdf5"), "--name", "v", "--out", str(out))
    _fails(r, "disagrees with exact search on 3 of 25 sampled queries", out)
    _write_vibe(root / "ip.hdf5", xb, xq, None, I, distance="ip")
    r = run_cli("datasets", "import-vibe", str(root / "ip.hdf5"), "--name", "v", "--out", str(out))
    _fails(r, "maximum inner product is not an annbench metric", out)


@pytest.mark.parametrize("layout, distance", [("ann-benchmarks bool", "hamming"), ("ann-benchmarks bool", "jaccard"),
                                              ("vibe packed", "hamming")])
def test_bit_datasets_import_cleanly(tmp_path, layout, distance):
    rng = np.random.default_rng(4)
    bits = rng.random((600, 64)) < 0.3
    qbits = rng.random((20, 64)) < 0.3
    inter = (qbits[:, None, :] & bits[None]).sum(-1)
    union = (qbits[:, None, :] | bits[None]).sum(-1)
    dist = (union - inter).astype(np.float64) if distance == "hamming" else 1 - inter / np.maximum(union, 1)
    I = np.argsort(dist, axis=1, kind="stable")[:, :10]  # ties by id
    path = tmp_path / "bits.hdf5"
    if layout == "vibe packed":
        _write_vibe(path, np.packbits(bits, axis=1), np.packbits(qbits, axis=1), None, I, distance, "binary")
    else:
        _write_vibe(path, bits, qbits, None, I, distance, "bit")
    out = tmp_path / "b.hdf5"
    r = run_cli("datasets", "import-vibe", str(path), "--name", "b", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "test (20, K=10, supplied, verified on 20 sampled queries)" in r.stdout
    ds = read_dataset(out)
    qs = ds.query_sets["test"]
    assert ds.point_type == "bit" and ds.metric == distance and ds.d == 64
    assert np.array_equal(ds.xb, np.packbits(bits, axis=1))
    assert np.array_equal(qs.neighbors, I) and np.allclose(qs.distances, np.take_along_axis(dist, I, 1), atol=1e-6)
    _sweep(out, tmp_path / "res", "bin_flat" if distance == "hamming" else "bin_jaccard_flat")
    bad = I.copy()
    bad[:4, 0] = np.argsort(dist, axis=1, kind="stable")[:4, -1]  # the farthest item as the nearest
    _write_vibe(path, bits, qbits, None, bad, distance, "bit")
    r = run_cli("datasets", "import-vibe", str(path), "--name", "b", "--out", str(tmp_path / "c.hdf5"))
    _fails(r, "disagrees with exact search on 4 of 20 sampled queries", tmp_path / "c.hdf5")


# ---------------------------------------------------------------- memory

CHUNK = 2048  # rows: 4 MiB as float32 at d = 512
SHARD_ROWS = (40000, 40000, 40000)  # a base of 59 chunks, 234 MiB as float32
MEMORY_BOUND = 64 << 20  # the stated bound on the import's peak RSS growth: under a third of the base
MEASURE = """
import json, sys
import annbench.cli.main
from annbench.runner.memory import PeakRSS, release_free_memory
args = sys.argv[1:]
annbench.cli.main.main([*args, "--max-n", str(2 * %d), "--out", args[-1] + ".warm"])  # load every library once
release_free_memory()
meter = PeakRSS()  # the kernel's high-water mark (VmHWM), reset here
start = meter.reset()
rc = annbench.cli.main.main(args)
print(json.dumps({"rc": rc, "growth": meter.peak() - start, "method": meter.method}))
""" % CHUNK


def test_clip_retrieval_import_memory_is_bounded_by_the_chunk(tmp_path):
    """A base 59 chunks long: the import's peak resident memory grows by a few chunks, not by the base.

    The import runs in a child process; a warm-up import of two chunks loads every library and code
    path first (their one-time cost is not the base's), then the peak growth of the real import is read.
    """
    rng = np.random.default_rng(0)
    d = 512
    root = tmp_path / "big"
    for part in ("img_emb", "text_emb", "metadata"):
        (root / part).mkdir(parents=True)
    for i, rows in enumerate(SHARD_ROWS):
        for part in ("img_emb", "text_emb"):
            np.save(root / part / f"{part}_{i}.npy", rng.standard_normal((rows, d), dtype=np.float32).astype(np.float16))
        pq.write_table(pa.table({"caption": [f"caption {i}-{j}" for j in range(rows)]}),
                       root / "metadata" / f"metadata_{i}.parquet", row_group_size=CHUNK)
    out = tmp_path / "big.hdf5"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", MEASURE, "datasets", "import-clip-retrieval", str(root), "--name", "big",
                        "--queries", "20", "--k", "10", "--chunk", str(CHUNK), "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, r.stderr
    nb = sum(SHARD_ROWS) - 20
    base_bytes = nb * d * 4
    assert read_dataset(out, lazy_base=True).nb == nb
    print(f"import peak RSS growth {result['growth'] / 2**20:.1f} MiB ({result['method']}), "
          f"base {base_bytes / 2**20:.0f} MiB, chunk {CHUNK * d * 4 / 2**20:.0f} MiB")
    assert result["growth"] < MEMORY_BOUND < base_bytes / 3, (result["growth"], base_bytes)

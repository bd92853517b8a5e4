"""The retrieval quality users feel, on the real Flickr8k CLIP vectors: paired R@k and zero-shot accuracy,
through each index and through exact search, equal to a plain numpy computation."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import CLIP, run_cli

from annbench import load_results
from annbench.data.hdf5io import read_dataset, write_dataset
from annbench.data.model import Dataset, QuerySet
from annbench.groundtruth import exact_knn
from annbench.quality import hit_rate, task_quality


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory, clip_arrays):
    """Base: the 80 COCO class prompts ("a dog"); queries: the Flickr8k images whose caption names exactly
    one COCO class (as a word, plural or not); each image's true match is that class's prompt."""
    names = (CLIP / "coco_names.txt").read_text().splitlines()
    classes = _unit(np.load(CLIP / "coco_clip_a+cname.npy"))
    labels, rows = [], []
    for i, caption in enumerate(clip_arrays["captions"]):
        words = set(re.findall(r"[a-z]+", caption.lower()))
        hits = [c for c, name in enumerate(names) if " " not in name and (name in words or name + "s" in words)]
        if len(hits) == 1:
            rows.append(i)
            labels.append(hits[0])
    xq, pairs = _unit(clip_arrays["images"][rows]), np.array(labels)
    D, I = exact_knn(classes, xq, k=20, metric="angular")
    qs = QuerySet("image", xq, I, D, "image", [clip_arrays["captions"][i] for i in rows], pairs, "classification")
    path = write_dataset(Dataset("coco-zero-shot", "angular", classes, {"image": qs}, "text", names),
                         tmp_path_factory.mktemp("zs") / "zs.hdf5")
    return path, xq, classes, pairs


@pytest.fixture(scope="module")
def paired(tmp_path_factory, clip_arrays):
    """Base: the 1000 Flickr8k images; queries: 200 caption-like vectors, each its image blended with one of
    its 5 nearest images (as a caption fits similar photos too), moved by the modality gap (text mean - image
    mean), plus noise; the true match of each is its own image (kept in the base)."""
    images, texts = _unit(clip_arrays["images"]), _unit(clip_arrays["texts"])
    rng = np.random.default_rng(3)
    src = rng.choice(len(images), 200, replace=False)
    gap = texts.mean(0) - images.mean(0)
    near = np.argsort(-(images @ images.T), axis=1)[:, 1:6]
    other = near[src, rng.integers(0, 5, len(src))]
    xq = _unit(images[src] + 0.9 * images[other] + gap + rng.normal(scale=0.05, size=(200, images.shape[1])))
    D, I = exact_knn(images, xq, k=100, metric="angular")
    qs = QuerySet("text", xq, I, D, "text", [f"caption of image {i}" for i in src], src, "paired")
    path = write_dataset(Dataset("flickr-paired", "angular", images, {"text": qs}, "image"),
                         tmp_path_factory.mktemp("pq") / "paired.hdf5")
    return path, xq, images, src


def _numpy_hits(xq, xb, pairs, cut):
    """Plain numpy: is the true match among the cut most similar base vectors (ties by id)?"""
    order = np.argsort(-(xq.astype(np.float64) @ xb.T.astype(np.float64)), axis=1, kind="stable")[:, :cut]
    return float((order == pairs[:, None]).any(axis=1).mean())


def _sweep(path, tmp_path, nq):
    res = tmp_path / "res"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"""
k: 10
nq: [{nq}]
min_time: 0.02
repeats: 1
save_neighbors: true
indexes:
  - index: flat
  - index: ivf_flat
    build: {{nlist: [8]}}
    search: {{nprobe: [1, 8]}}
""")
    r = run_cli("sweep", "--dataset", str(path), "--config", str(cfg), "--results", str(res))
    assert r.returncode == 0, r.stderr
    return res


def test_the_file_keeps_the_pairs(zero_shot, paired):
    ds = read_dataset(zero_shot[0])
    assert ds.query_sets["image"].task == "classification" and np.array_equal(ds.query_sets["image"].pairs,
                                                                               zero_shot[3])
    assert read_dataset(paired[0]).query_sets["text"].task == "paired"


def test_zero_shot_accuracy_through_each_index_agrees_with_numpy(zero_shot, tmp_path):
    path, xq, classes, pairs = zero_shot
    assert len(pairs) >= 100  # Flickr8k captions name a COCO class often (dog, man? no: person is not a word there)
    res = _sweep(path, tmp_path, 10)
    df = load_results(res)
    exact1, exact5 = _numpy_hits(xq, classes, pairs, 1), _numpy_hits(xq, classes, pairs, 5)
    assert 0.3 < exact1 < 1.0  # CLIP's zero-shot accuracy on these images is real, and not perfect
    assert np.allclose(df["zero_shot_top1_exact"], exact1) and np.allclose(df["zero_shot_top5_exact"], exact5)
    for _, row in df.iterrows():
        ids = np.load(res / row["neighbors_file"])
        assert row["zero_shot_top1"] == pytest.approx(float((ids[:, 0] == pairs).mean()))
        assert row["zero_shot_top5"] == pytest.approx(float((ids[:, :5] == pairs[:, None]).any(1).mean()))
    flat = df[df["index"] == "flat"].iloc[0]
    assert flat["zero_shot_top1"] == pytest.approx(exact1)  # exact search loses nothing
    text = run_cli("summary", "--results", str(res), "--targets", "0.5").stdout
    assert "zero-shot accuracy top-1/5" in text and f"(exact {exact1:.3f}/{exact5:.3f}" in text


def test_paired_recall_through_each_index_agrees_with_numpy(paired, tmp_path):
    path, xq, images, src = paired
    res = _sweep(path, tmp_path, 20)
    df = load_results(res)
    for cut in (1, 5, 10):
        assert np.allclose(df[f"paired_r{cut}_exact"], _numpy_hits(xq, images, src, cut))
    assert 0.2 < df["paired_r1_exact"].iloc[0] < 0.95
    for _, row in df.iterrows():
        ids = np.load(res / row["neighbors_file"])
        for cut in (1, 5, 10):
            assert row[f"paired_r{cut}"] == pytest.approx(hit_rate(ids, src, cut))
    low = df[df["search.nprobe"] == 1].iloc[0]
    assert low["paired_r10"] <= low["paired_r10_exact"] + 1e-9  # a missed neighbour can only lose the pair
    r = run_cli("report", "--results", str(res), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "R@1/5/10 of the paired item" in html and "points)" in html


def test_no_task_without_pairs_and_cuts_deeper_than_k_are_not_reported():
    I = np.array([[3, 1], [0, 2]])
    assert task_quality(I, I, None, "paired") == {}
    out = task_quality(I, I, np.array([1, -1]), "paired")
    assert out["n_paired"] == 1 and out["paired_r1"] == 0.0 and out["paired_r5"] is None

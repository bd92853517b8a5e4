"""Dataset statistics: brute-force references on tiny data, and the real CLIP numbers of ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

from annbench.data import stats as stats_mod
from annbench.data.model import Dataset, QuerySet
from annbench.data.stats import dataset_stats, format_stats
from annbench.errors import UserError


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _dataset(xb: np.ndarray, sets: dict[str, np.ndarray], metric: str = "angular") -> Dataset:
    empty = np.zeros((0, 0))
    qs = {name: QuerySet(name, q, empty, empty, modality=name) for name, q in sets.items()}
    return Dataset("tiny", metric, xb, qs, base_modality="image")


@pytest.fixture
def tiny():
    rng = np.random.default_rng(5)
    centre = rng.standard_normal(24)
    xb = _unit(centre + rng.standard_normal((60, 24)))
    xq = _unit(-centre + 2 * rng.standard_normal((15, 24)))
    return xb, xq


def test_matches_brute_force(tiny, monkeypatch):
    monkeypatch.setattr(stats_mod, "BLOCK", 7)  # several blocks: exercises the top-k merge
    xb, xq = tiny
    s = dataset_stats(_dataset(xb, {"text": xq}), sample=1000, probes=1000)
    gram = xb.astype(np.float64) @ xb.T.astype(np.float64)
    off = ~np.eye(len(xb), dtype=bool)
    assert s["base"]["pair_cos"] == pytest.approx(gram[off].mean(), abs=1e-6)
    assert s["base"]["nn_cos"] == pytest.approx(np.where(off, gram, -2).max(1).mean(), abs=1e-5)
    assert s["base"]["mean_norm"] == pytest.approx(np.linalg.norm(xb.mean(0)), abs=1e-6)
    assert s["base"]["outlier"] == pytest.approx(np.abs(xb.mean(0)).max(), abs=1e-6)
    top = -np.sort(-(xq.astype(np.float64) @ xb.T), axis=1)[:, :10]
    t = s["query_sets"]["text"]
    assert t["best_cos"] == pytest.approx(top[:, 0].mean(), abs=1e-5)
    assert t["tenth_cos"] == pytest.approx(top[:, 9].mean(), abs=1e-5)
    assert t["spread"] == pytest.approx((top[:, 0] - top[:, 9]).mean(), abs=1e-5)
    assert t["cross_cos"] == pytest.approx((xq.astype(np.float64) @ xb.T).mean(), abs=1e-6)
    assert t["gap"] == pytest.approx(np.linalg.norm(xq.mean(0) - xb.mean(0)), abs=1e-5)


def test_dims90_counts_principal_directions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 40)) * np.r_[np.full(5, 10.0), np.full(35, 0.1)]  # 5 strong directions
    rot = np.linalg.qr(rng.standard_normal((40, 40)))[0]
    assert stats_mod._dims_for_variance(x @ rot) == 5


def test_euclidean_is_measured_on_normalised_copies(tiny):
    xb, xq = tiny
    scale = np.random.default_rng(2).uniform(0.5, 20, (len(xb), 1)).astype(np.float32)
    ang = dataset_stats(_dataset(xb, {"text": xq}))
    euc = dataset_stats(_dataset(xb * scale, {"text": xq * 3}, metric="euclidean"))
    assert euc["normalised"] and not ang["normalised"]
    for col in ("pair_cos", "nn_cos", "mean_norm", "dims90"):
        assert euc["base"][col] == pytest.approx(ang["base"][col], abs=1e-5)
    assert euc["query_sets"]["text"]["best_cos"] == pytest.approx(ang["query_sets"]["text"]["best_cos"], abs=1e-5)
    assert "normalised" in format_stats(euc)


def test_sampling_is_seeded_and_bounded(tiny):
    xb, xq = tiny
    ds = _dataset(xb, {"text": xq})
    a, b = dataset_stats(ds, sample=20, probes=10, seed=3), dataset_stats(ds, sample=20, probes=10, seed=3)
    assert a == b
    assert a["base"]["dims90"] <= 20
    assert a["base"]["pair_cos"] == dataset_stats(ds)["base"]["pair_cos"]  # means always use every row


def test_binary_dataset_is_refused():
    ds = Dataset("bits", "hamming", np.zeros((4, 8), dtype=np.uint8), {}, point_type="bit")
    with pytest.raises(UserError, match="binary"):
        dataset_stats(ds)


def test_format_stats_table(tiny):
    xb, xq = tiny
    text = format_stats(dataset_stats(_dataset(xb, {"text": xq, "image": xb[:5]})))
    lines = text.splitlines()
    assert "base (image)" in lines[3] and "text (text)" in lines[3] and "image (image)" in lines[3]
    gap_row = next(line for line in lines if line.startswith("gap"))
    assert gap_row.split()[-3] == "-"  # no gap for the base itself
    assert len({len(line) for line in lines[3:]}) == 1  # aligned columns


# The README of ../shared/data: "Measured facts (cosine on L2-normalised vectors)".
README = {
    ("base", "pair_cos"): 0.52, ("base", "nn_cos"): 0.79, ("base", "mean_norm"): 0.72,
    ("text", "pair_cos"): 0.75, ("text", "mean_norm"): 0.87, ("text", "cross_cos"): 0.19,
    ("text", "gap"): 0.95, ("text", "best_cos"): 0.26, ("text", "tenth_cos"): 0.23, ("text", "spread"): 0.025,
}


@pytest.fixture(scope="module")
def real_stats(t2i_dataset):
    return dataset_stats(t2i_dataset, probes=4000)


@pytest.mark.parametrize("where,key", list(README), ids=[f"{w}-{k}" for w, k in README])
def test_real_clip_reproduces_readme(real_stats, where, key):
    col = real_stats["base"] if where == "base" else real_stats["query_sets"][where]
    assert col[key] == pytest.approx(README[(where, key)], abs=0.006)


def test_real_clip_other_facts(real_stats, t2i_dataset):
    text = real_stats["query_sets"]["text"]
    assert 160 <= real_stats["base"]["dims90"] <= 210 and 160 <= text["dims90"] <= 210  # "~170-200"
    # The README's text NN 0.92 sits between 0.904 (exact duplicates set aside: the four
    # vocabularies share class names) and 0.938 (duplicates count, as here).
    assert text["nn_cos"] == pytest.approx(0.938, abs=0.005)
    # the gap is the distance between the mean vectors themselves, not between their directions
    bmean, qmean = t2i_dataset.xb.mean(0), t2i_dataset.query_sets["text"].queries.mean(0)
    directions = np.linalg.norm(qmean / np.linalg.norm(qmean) - bmean / np.linalg.norm(bmean))
    assert directions == pytest.approx(1.185, abs=0.005) and text["gap"] == pytest.approx(0.949, abs=0.005)
    assert real_stats["base"]["outlier"] > 0.6 and text["outlier"] > 0.5  # CLIP's outlier coordinates

import numpy as np
import pytest

from annbench.metrics import all_recalls, dedupe, distances_of, recall_eps, recall_strict, recall_ties

GT_I = np.array([[0, 1, 2, 3, 4, 5]])
GT_D = np.array([[0.1, 0.2, 0.3, 0.3, 0.3, 0.9]])


def test_strict_counts_the_intersection():
    assert recall_strict(np.array([[0, 1, 9]]), GT_I, 3)[0] == pytest.approx(2 / 3)
    assert recall_strict(np.array([[2, 1, 0]]), GT_I, 3)[0] == 1.0


def test_duplicates_never_raise_recall():
    assert (dedupe(np.array([[5, 5, 1, 5]])) == [[5, -1, 1, -1]]).all()
    assert recall_strict(np.array([[0, 0, 0]]), GT_I, 3)[0] == pytest.approx(1 / 3)
    assert recall_ties(np.array([[0, 0, 0]]), GT_I, GT_D, 3)[0] == pytest.approx(1 / 3)


def test_padding_is_a_miss():
    assert recall_strict(np.array([[0, -1, -1]]), GT_I, 3)[0] == pytest.approx(1 / 3)


def test_tie_aware_counts_neighbours_tied_with_the_kth():
    returned = np.array([[0, 1, 4]])  # 4 ties with the 3rd true neighbour (0.3)
    assert recall_strict(returned, GT_I, 3)[0] == pytest.approx(2 / 3)
    assert recall_ties(returned, GT_I, GT_D, 3)[0] == 1.0
    assert recall_ties(np.array([[0, 1, 5]]), GT_I, GT_D, 3)[0] == pytest.approx(2 / 3)


def test_eps_uses_recomputed_distances():
    xb = np.eye(4, dtype=np.float32)
    xq = np.array([[1, 0, 0, 0]], dtype=np.float32)
    I = np.array([[0, 1, -1]])
    dist = distances_of(xb, xq, I, "angular")
    assert dist[0, 0] == pytest.approx(0) and dist[0, 1] == pytest.approx(1) and np.isinf(dist[0, 2])
    gt_D = np.array([[0.0, 1.0, 1.0]])
    assert recall_eps(dist, I, gt_D, 3)[0] == pytest.approx(2 / 3)


def test_all_recalls_on_real_clip(t2i_dataset):
    qs = t2i_dataset.query_sets["text"]
    perfect = all_recalls(t2i_dataset.xb, qs.queries, qs.neighbors[:, :10], qs.neighbors, qs.distances, 10, "angular")
    assert perfect == {"recall": 1.0, "recall_ties": 1.0, "recall_eps": 1.0}
    shifted = qs.neighbors[:, 1:11]  # drop the best, add the 11th: a near-miss everywhere
    r = all_recalls(t2i_dataset.xb, qs.queries, shifted, qs.neighbors, qs.distances, 10, "angular")
    assert r["recall"] == pytest.approx(0.9)
    assert r["recall"] <= r["recall_ties"] <= r["recall_eps"] <= 1.0
    # CLIP similarities are compressed: the 11th is often within ann-benchmarks' epsilon of the 10th
    assert r["recall_eps"] > r["recall"]

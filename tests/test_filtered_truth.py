"""Filtered ground truth and filters: exact over the allowed rows, checked against numpy brute force."""

from __future__ import annotations

import re

import numpy as np
import pytest

from annbench.data.filters import TAG, parse_expression, row_filter, seeded, tag_column
from annbench.errors import UserError
from annbench.groundtruth.filtered import filtered_knn
from conftest import brute_force


def _reference(xb, xq, mask, k, metric):
    allowed = np.flatnonzero(mask)
    D, I = brute_force(xb[allowed], xq, min(k, allowed.size), metric)
    return D, allowed[I]


@pytest.mark.parametrize("metric", ["angular", "euclidean"])
@pytest.mark.parametrize("selectivity", [0.01, 0.1, 0.5])
def test_filtered_truth_matches_numpy(unit_data, metric, selectivity):
    xb, xq = unit_data
    rf = row_filter(seeded(selectivity, len(xb), seed=3), {}, len(xb))
    D, I = filtered_knn(xb, xq, rf.mask, 10, metric)
    refD, refI = _reference(xb, xq, rf.mask, 10, metric)
    assert rf.mask[I].all()
    np.testing.assert_array_equal(I, refI)
    np.testing.assert_allclose(D, refD, atol=1e-5)


def test_filtered_truth_streams_an_on_disk_base_in_blocks(tmp_path, unit_data):
    """The base read lazily, a few rows per block: the same ids as numpy over the allowed rows."""
    from annbench.data.hdf5io import RowReader
    import h5py

    xb, xq = unit_data
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_dataset("train", data=xb)
    mask = (np.arange(len(xb)) % 7) == 2
    with h5py.File(tmp_path / "b.h5", "r") as f:
        D, I = filtered_knn(RowReader(f["train"]), xq, mask, 20, "angular", block=64)
    np.testing.assert_array_equal(I, _reference(xb, xq, mask, 20, "angular")[1])


def test_fewer_allowed_rows_than_k_are_padded(unit_data):
    xb, xq = unit_data
    mask = np.zeros(len(xb), dtype=bool)
    mask[[5, 17, 900]] = True
    D, I = filtered_knn(xb, xq, mask, 10, "angular")
    assert sorted(I[0, :3]) == [5, 17, 900] and (I[:, 3:] == -1).all() and np.isinf(D[:, 3:]).all()


def test_seeded_filter_passes_the_asked_fraction_and_depends_on_the_seed():
    flt = seeded(0.01, 30000)
    assert flt == {"attribute": TAG, "op": "<", "value": 300, "selectivity": 0.01, "seed": 0}
    assert row_filter(flt, {}, 30000).passing == 300
    assert seeded(1e-9, 1000)["value"] == 1  # at least one row
    assert not np.array_equal(tag_column(100, 0), tag_column(100, 1))
    assert sorted(tag_column(100, 0)) == list(range(100))


def test_expression_filter_on_a_stored_column():
    cluster = np.arange(1000) % 4
    rf = row_filter(parse_expression("cluster >= 3"), {"cluster": cluster}, 1000)
    assert rf.expression == "cluster >= 3" and rf.selectivity == 0.25 and rf.mask[3] and not rf.mask[2]


ZEROS = {"cluster": np.zeros(10, dtype=np.int64)}


@pytest.mark.parametrize("make, message", [
    (lambda: seeded(0, 100), "in (0, 1]"),
    (lambda: seeded(1.5, 100), "in (0, 1]"),
    (lambda: parse_expression("cluster ~ 3"), "cannot read"),
    (lambda: parse_expression("cluster == three"), "cannot read"),
    (lambda: row_filter({"attribute": "shop", "op": "==", "value": 1}, ZEROS, 10), "no attribute 'shop'"),
    (lambda: row_filter({"attribute": "cluster", "op": "=~", "value": 1}, ZEROS, 10), "unknown operator"),
    (lambda: row_filter({"attribute": "cluster", "op": ">", "value": 5}, ZEROS, 10), "passes no base row"),
])
def test_bad_filters_are_one_line_errors(make, message):
    with pytest.raises(UserError, match=re.escape(message)) as exc:
        make()
    assert "\n" not in str(exc.value)


def test_the_truth_cache_is_keyed_by_the_rows_a_filter_passes(tmp_path):
    """The same expression over a changed attribute column is another truth; the same rows are the same."""
    from annbench.runner.filtered import truth_path

    flt = parse_expression("shop == 1")
    a = row_filter(flt, {"shop": np.arange(100) % 3}, 100)
    b = row_filter(flt, {"shop": np.arange(100) % 4}, 100)
    same = row_filter(flt, {"shop": (np.arange(100) % 3) * 1}, 100)
    assert truth_path(tmp_path, "fp", a, "text", 100) != truth_path(tmp_path, "fp", b, "text", 100)
    assert truth_path(tmp_path, "fp", a, "text", 100) == truth_path(tmp_path, "fp", same, "text", 100)
    assert truth_path(tmp_path, "fp", a, "text", 100) != truth_path(tmp_path, "fp2", a, "text", 100)

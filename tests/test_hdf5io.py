"""The ann-benchmarks layout both ways, and the CLIP extension."""

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest

from annbench.atomic import atomic_path
from annbench.data.hdf5io import describe, read_dataset, write_dataset
from annbench.errors import UserError


def _ann_benchmarks_file(path, x, q, metric="angular"):
    """A file exactly as ann-benchmarks writes one (glove-100-angular style: not unit-norm)."""
    from annbench.groundtruth import exact_knn

    with h5py.File(path, "w") as f:
        f.attrs["type"] = "dense"
        f.attrs["distance"] = metric
        f.attrs["dimension"] = x.shape[1]
        f.attrs["point_type"] = "float"
        f.create_dataset("train", data=x)
        f.create_dataset("test", data=q)
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        D, I = exact_knn(xn, qn, 20, metric)
        f.create_dataset("neighbors", data=I.astype(np.int32))
        f.create_dataset("distances", data=D)


def test_reads_an_ann_benchmarks_file_unchanged(tmp_path):
    rng = np.random.default_rng(1)
    x, q = rng.normal(size=(300, 16)) * 7, rng.normal(size=(20, 16)) * 3
    path = tmp_path / "glove-16-angular.hdf5"
    _ann_benchmarks_file(path, x.astype(np.float32), q.astype(np.float32))
    ds = read_dataset(path)
    assert ds.name == "glove-16-angular" and ds.metric == "angular" and list(ds.query_sets) == ["test"]
    assert np.allclose(np.linalg.norm(ds.xb, axis=1), 1, atol=1e-5)  # normalised once, on load
    assert ds.query_sets["test"].neighbors.shape == (20, 20)
    assert describe(path)["query_sets"] == {"test": (20, 20, "")}


def _ann_benchmarks_reader(path):
    """What ann-benchmarks' own loader does with a dataset file."""
    f = h5py.File(path, "r")
    dimension = int(f.attrs["dimension"]) if "dimension" in f.attrs else len(f["train"][0])
    return np.array(f["train"]), np.array(f["test"]), f.attrs["distance"], dimension, np.array(f["neighbors"]), np.array(f["distances"])


def test_written_file_loads_in_an_ann_benchmarks_reader(tmp_path, t2i_dataset):
    path = write_dataset(t2i_dataset, tmp_path / "t2i.hdf5")
    train, test, distance, dim, nbrs, dists = _ann_benchmarks_reader(path)
    text = t2i_dataset.query_sets["text"]
    assert distance == "angular" and dim == 512 and train.shape == (1000, 512)
    assert np.array_equal(test, text.queries) and np.array_equal(nbrs, text.neighbors)
    assert np.allclose(dists[:, 0], 1 - (text.queries * train[nbrs[:, 0]]).sum(1), atol=1e-5)  # 1 - cos


def test_clip_extension_round_trip(tmp_path, t2i_dataset, i2i_dataset):
    from annbench.data.model import Dataset

    image = dataclasses.replace(i2i_dataset.query_sets["holdout"], name="image")  # the session's copy stays as is
    both = Dataset("mixed", "angular", i2i_dataset.xb, {"text": t2i_dataset.query_sets["text"], "image": image},
                   base_modality="image", base_labels=i2i_dataset.base_labels)
    path = write_dataset(both, tmp_path / "mixed.hdf5")
    back = read_dataset(path)
    assert list(back.query_sets) == ["text", "image"]
    assert back.query_sets["text"].modality == "text" and back.query_sets["image"].modality == "image"
    assert back.query_sets["text"].labels[:2] == t2i_dataset.query_sets["text"].labels[:2]
    assert back.base_labels == i2i_dataset.base_labels and back.base_modality == "image"
    with h5py.File(path) as f:  # the first query set is the root view, stored once
        assert f["test"].id == f["annbench/query_sets/text/test"].id


def test_errors(tmp_path, t2i_dataset):
    with pytest.raises(UserError, match="not found"):
        read_dataset(tmp_path / "missing.hdf5")
    (tmp_path / "junk.hdf5").write_text("not hdf5")
    with pytest.raises(UserError, match="not an HDF5 file"):
        read_dataset(tmp_path / "junk.hdf5")
    with h5py.File(tmp_path / "partial.hdf5", "w") as f:
        f["train"] = np.zeros((3, 2))
    with pytest.raises(UserError, match="missing 'test'"):
        read_dataset(tmp_path / "partial.hdf5")
    write_dataset(t2i_dataset, tmp_path / "t.hdf5")
    with pytest.raises(UserError, match="--force"):
        write_dataset(t2i_dataset, tmp_path / "t.hdf5")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out.hdf5"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("metric", ["angular", "euclidean"])
def test_lazy_base_reads_the_rows_a_full_load_holds(tmp_path, metric):
    from annbench.data.hdf5io import RowReader

    rng = np.random.default_rng(3)
    x, q = (rng.normal(size=(9000, 16)) * 7).astype(np.float32), rng.normal(size=(5, 16)).astype(np.float32)
    path = tmp_path / f"big-{metric}.hdf5"
    _ann_benchmarks_file(path, x, q, metric)
    full, lazy = read_dataset(path), read_dataset(path, lazy_base=True)
    assert isinstance(lazy.xb, RowReader) and lazy.xb.shape == full.xb.shape == (9000, 16)
    ids = np.array([[8999, 3, 3, 4100], [0, 8191, 8192, 17]])  # unsorted, repeated, across slabs
    np.testing.assert_allclose(lazy.xb[ids], full.xb[ids], rtol=1e-6)
    np.testing.assert_array_equal(lazy.xb[10:20], full.xb[10:20])
    mask = np.zeros(9000, dtype=bool)
    mask[[5, 8000]] = True
    np.testing.assert_allclose(lazy.xb[mask], full.xb[mask], rtol=1e-6)
    with pytest.raises(IndexError):
        lazy.xb[[9000]]
    assert lazy.query_sets["test"].queries.tolist() == full.query_sets["test"].queries.tolist()


def test_lazy_base_of_packed_bits(tmp_path):
    from annbench.data.bits import packed_bits

    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(500, 64)).astype(bool)
    path = tmp_path / "bits.hdf5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"type": "dense", "distance": "hamming", "dimension": 64, "point_type": "bit"})
        f["train"], f["test"] = bits, bits[:3]
    lazy = read_dataset(path, lazy_base=True)
    assert lazy.point_type == "bit" and lazy.xb.shape == (500, 8)
    np.testing.assert_array_equal(lazy.xb[[7, 499, 7]], packed_bits(bits, 64, "x")[[7, 499, 7]])
    assert lazy.d == read_dataset(path).d == 64  # bits, not the 8 bytes a packed row holds
    assert lazy.xb[np.array([], dtype=np.int64)].shape == (0, 8)
    with pytest.raises(TypeError):
        lazy.xb[1, 2]


def test_fingerprint_covers_every_query_set(tmp_path, t2i_dataset):
    from annbench.data.hdf5io import sample_fingerprint
    from annbench.data.model import Dataset

    text = t2i_dataset.query_sets["text"]
    other = dataclasses.replace(text, name="image", queries=text.queries[::-1].copy())
    a = Dataset("a", "angular", t2i_dataset.xb, {"text": text, "image": dataclasses.replace(text, name="image")})
    b = Dataset("a", "angular", t2i_dataset.xb, {"text": text, "image": other})
    fa = sample_fingerprint(write_dataset(a, tmp_path / "a.hdf5"))
    fb = sample_fingerprint(write_dataset(b, tmp_path / "b.hdf5"))
    assert fa.startswith("fp2-") and fa != fb  # same base, same root queries, another second query set


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc, where no file can be made")
def test_a_file_or_report_that_cannot_be_made_is_named_as_given_not_by_its_temporary(tmp_path):
    from annbench.report.build import build_report

    with pytest.raises(OSError) as err:
        with atomic_path("/proc/annbench-no"):
            pass
    assert err.value.filename == "/proc/annbench-no"
    (tmp_path / "res").mkdir()
    with pytest.raises(OSError) as err:
        build_report([tmp_path / "res"], "/proc/annbench-report")
    assert err.value.filename == "/proc/annbench-report"

"""Filtered sweeps end to end on the real CLIP text-to-image set (1000 images, 2148 text queries)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from annbench.data.filters import row_filter, seeded

CONFIG = """
indexes:
  - {index: flat}
  - {index: ivf_flat, build: {nlist: 16}, search: {nprobe: [1, 4, 16]}}
  - {index: hnsw, build: {M: 16, ef_construction: 100}, search: {ef: 64}}
  - {index: hnswlib, build: {M: 16, ef_construction: 100}, search: {ef: 64}}
  - {index: milvus, build: {index_type: FLAT}}
  - {index: annoy, build: {n_trees: 10}}
"""
HOW = {"flat": "faiss IDSelectorBitmap via SearchParameters", "ivf_flat": "faiss IDSelectorBitmap via SearchParameters",
       "hnsw": "faiss IDSelectorBitmap via SearchParameters", "hnswlib": "hnswlib filter function",
       "milvus": "Milvus boolean expression"}


@pytest.fixture(scope="module")
def t2i_attr_file(tmp_path_factory, t2i_dataset):
    """The text-to-image set with an integer attribute ``shard`` (row id mod 5) stored beside the base."""
    from dataclasses import replace

    from annbench.data.hdf5io import write_dataset

    ds = replace(t2i_dataset, attributes={"shard": np.arange(t2i_dataset.nb, dtype=np.int64) % 5})
    return write_dataset(ds, tmp_path_factory.mktemp("attr") / "t2i-attr.hdf5")


@pytest.fixture(scope="module")
def swept(tmp_path_factory, t2i_attr_file):
    tmp = tmp_path_factory.mktemp("filtered")
    (tmp / "sweep.yaml").write_text(CONFIG)
    r = run_cli("sweep", "--dataset", str(t2i_attr_file), "--config", str(tmp / "sweep.yaml"), "--queries", "text",
                "--filter-selectivity", "0.01,0.1", "--filter", "shard == 2", "--nq", "100", "--k", "10",
                "--min-time", "0.02", "--repeats", "1", "--threads", "2", "--save-neighbors",
                "--results", str(tmp / "res"))
    assert r.returncode == 0, r.stderr
    recs = [json.loads(p.read_text()) for p in (tmp / "res" / "records").glob("*.json")]
    return tmp / "res", recs


def _at(recs, index, selectivity):
    return [r for r in recs if r["index"] == index and r["filter"].get("selectivity") == selectivity]


def test_every_point_is_filtered_and_measured(swept):
    _, recs = swept
    assert recs and all(r["status"] == "ok" for r in recs)
    assert all(r["filter"] for r in recs)  # the filters cross every point; none unfiltered
    assert {r["index"] for r in recs} == {"flat", "ivf_flat", "hnsw", "hnswlib", "milvus", "annoy"}


@pytest.mark.parametrize("selectivity", [0.01, 0.1])
def test_exact_indexes_reach_recall_one_against_the_filtered_truth(swept, selectivity):
    """Done when: flat at selectivity 0.01 gives recall 1.0 exactly; so do an exact Milvus and a full IVF probe."""
    _, recs = swept
    for index in ("flat", "milvus"):
        (rec,) = _at(recs, index, selectivity)
        assert rec["recall"] == 1.0 and rec["recall_ties"] == 1.0, (index, rec["recall"])
    (full,) = [r for r in _at(recs, "ivf_flat", selectivity) if r["search"]["nprobe"] == 16]
    assert full["recall"] == 1.0


def test_each_record_says_how_its_backend_filtered(swept):
    _, recs = swept
    for r in recs:
        if r["index"] == "annoy":
            depth = min(1000, int(np.ceil(2 * 10 / r["filter_selectivity"])))
            assert r["filter_method"] == f"post-filter (k'={depth})"
        else:
            assert r["filter_method"] == HOW[r["index"]]
        assert r["filter_rows"] == round(r["filter_selectivity"] * 1000)
    assert {r["filter_selectivity"] for r in recs} == {0.01, 0.1, 0.2}  # shard == 2: measured, 200 of 1000 rows


def test_every_returned_id_passes_the_filter(swept, t2i_attr_file):
    res, recs = swept
    shard = np.arange(1000) % 5
    for r in recs:
        allowed = row_filter(r["filter"], {"shard": shard}, 1000).mask
        ids = np.load(res / r["neighbors_file"])
        assert allowed[ids[ids >= 0]].all(), (r["index"], r["filter"])


def test_ivf_recall_rises_with_nprobe_under_a_filter(swept):
    _, recs = swept
    for selectivity in (0.01, 0.1):
        by_nprobe = {r["search"]["nprobe"]: r["recall"] for r in _at(recs, "ivf_flat", selectivity)}
        assert by_nprobe[1] < by_nprobe[4] <= by_nprobe[16] == 1.0, by_nprobe


def test_a_filter_drops_the_task_quality_and_a_rerun_resumes(swept, t2i_attr_file):
    res, recs = swept
    assert all(r.get("paired_r1") is None and r.get("zero_shot_top1") is None for r in recs)
    truths = sorted((res / "filtered_truth").glob("*.npz"))
    assert len(truths) == 3  # one per filter and query set, computed once for every index
    r = run_cli("sweep", "--dataset", str(t2i_attr_file), "--index", "flat", "--queries", "text",
                "--filter-selectivity", "0.01", "--nq", "100", "--k", "10", "--min-time", "0.02", "--repeats", "1",
                "--threads", "2", "--save-neighbors", "--results", str(res))
    assert r.returncode == 0 and "0 measured, 1 already stored" in r.stdout, r.stderr
    assert sorted((res / "filtered_truth").glob("*.npz")) == truths


def test_filtered_truth_on_disk_is_the_exact_top_k_of_the_passing_rows(swept, t2i_dataset):
    from conftest import brute_force

    from annbench.runner.filtered import read_truth, truth_path

    res, recs = swept
    qs = t2i_dataset.query_set("text")
    flt = seeded(0.1, 1000)
    rf = row_filter(flt, {}, 1000)
    I, D = read_truth(truth_path(res, recs[0]["dataset_fingerprint"], rf, "text", qs.gt_depth))
    allowed = np.flatnonzero(rf.mask)
    refD, refI = brute_force(t2i_dataset.xb[allowed], qs.queries, 100, "angular")
    np.testing.assert_allclose(D, refD, atol=1e-5)
    assert (I == allowed[refI]).mean() > 0.999  # ids differ only between exact ties


@pytest.mark.parametrize("args, message", [
    (["--filter-selectivity", "0"], "filter selectivity must be a number in (0, 1], got 0"),
    (["--filter-selectivity", "1.5"], "filter selectivity must be a number in (0, 1], got 1.5"),
    (["--filter-selectivity", "some"], "filter selectivity must be a number in (0, 1], got 'some'"),
    (["--filter-selectivity", "0.001"], "passes 1 base row(s), fewer than k=10"),
    (["--filter", "colour == 1"], "the dataset has no attribute 'colour' (it has: annbench_tag, shard)"),
    (["--filter", "shard ~ 1"], "--filter: cannot read 'shard ~ 1'"),
    (["--filter", "shard == 7"], "filter shard == 7 passes no base row"),
])
def test_bad_filters_are_refused_in_one_line_before_anything_runs(tmp_path, t2i_attr_file, args, message):
    r = run_cli("sweep", "--dataset", str(t2i_attr_file), "--index", "flat", "--k", "10", *args,
                "--results", str(tmp_path / "res"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "res").exists()


def test_report_draws_recall_and_qps_against_selectivity_per_index(swept, tmp_path):
    from annbench.report.build import build_report
    from annbench.report.filtered import filtered_blocks
    from annbench.report.load import load

    res, _ = swept
    data = load([res])
    (block,) = filtered_blocks(data.filtered, "recall_ties", {})
    charts = {c["id"].rsplit("-", 1)[1]: c for c in block.charts}
    assert set(charts) == {"recall", "qps", "target"} and charts["recall"]["x"]["log"]
    recall = {s["name"]: {p["x"]: p["y"] for p in s["points"]} for s in charts["recall"]["series"]}
    assert recall["flat"] == {0.01: 1.0, 0.1: 1.0}  # seeded filters only; shard == 2 is in the table
    assert recall["ivf_flat nlist=16"] == {0.01: 1.0, 0.1: 1.0}  # its most accurate setting: nprobe=16
    assert len(recall) == 6
    assert "shard == 2" in block.table and "post-filter (k&#x27;=1000)" in block.table  # annoy at 0.01

    page = build_report([res], tmp_path / "report")
    html = page.read_text()
    assert 'id="filtered-t2i-attr-text"' in html and "Recall vs selectivity" in html
    assert (tmp_path / "report" / "filtered-t2i-attr-text-recall.png").stat().st_size > 0


def test_a_config_gives_filters_as_the_command_line_does(tmp_path, t2i_attr_file):
    from types import SimpleNamespace

    from annbench.cli.sweep_cmd import build_plan

    (tmp_path / "f.yaml").write_text("indexes: [{index: flat}]\nfilter_selectivity: [0.01, 0.5]\nfilter: shard != 0\n")
    args = SimpleNamespace(config=str(tmp_path / "f.yaml"), index=None, dataset=str(t2i_attr_file), queries=None,
                           nq=None, k=None, device=None, results=None, threads=None, timeout=None,
                           memory_limit_gb=None, min_time=None, repeats=None, save_neighbors=None, rerank=None,
                           blas_threshold=None, filter_selectivity=None, filter=None)
    plan, _ = build_plan(args, [])
    assert [f["value"] for f in plan.filters] == [10, 500, 0]
    assert plan.filters[2] == {"attribute": "shard", "op": "!=", "value": 0}
    args.filter_selectivity = "0.1"  # the command line wins over the config
    assert [f["value"] for f in build_plan(args, [])[0].filters] == [100, 0]


def test_summary_has_a_table_per_filter_saying_how_each_index_filtered(swept):
    res, _ = swept
    r = run_cli("summary", "--results", str(res))
    assert r.returncode == 0, r.stderr
    assert "/ filter annbench_tag < 10 (selectivity 0.01)" in r.stdout and "/ filter shard == 2 " in r.stdout
    assert ("filtered by: annoy post-filter (k'=1000); flat faiss IDSelectorBitmap via SearchParameters; "
            "hnsw faiss IDSelectorBitmap via SearchParameters; hnswlib hnswlib filter function; ") in r.stdout


def test_imported_attributes_follow_the_held_out_rows_and_filter_a_sweep(tmp_path, clip_arrays):
    from annbench.data.hdf5io import read_dataset
    from annbench.data.importer import holdout_rows

    images = tmp_path / "images.npy"
    np.save(images, clip_arrays["images"])
    np.save(tmp_path / "shop.npy", np.arange(1000) % 4)
    np.save(tmp_path / "short.npy", np.arange(10))
    common = ["datasets", "import", "imgs", "--base", str(images), "--holdout", "100", "--metric", "angular"]
    r = run_cli(*common, "--attribute", f"shop={tmp_path / 'short.npy'}", "--out", str(tmp_path / "bad.hdf5"))
    assert r.returncode == 2 and "need 1000 integers (one per base row)" in r.stderr
    r = run_cli(*common, "--attribute", f"shop={tmp_path / 'shop.npy'}", "--out", str(tmp_path / "imgs.hdf5"))
    assert r.returncode == 0, r.stderr
    kept = ~holdout_rows(1000, 100, 0)
    assert np.array_equal(read_dataset(tmp_path / "imgs.hdf5").attributes["shop"], (np.arange(1000) % 4)[kept])
    r = run_cli("sweep", "--dataset", str(tmp_path / "imgs.hdf5"), "--index", "flat", "--filter", "shop == 1",
                "--nq", "10", "--k", "10", "--min-time", "0.02", "--repeats", "1", "--results", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    (rec,) = [json.loads(p.read_text()) for p in (tmp_path / "res" / "records").glob("*.json")]
    assert rec["recall"] == 1.0 and rec["filter_rows"] == int(((np.arange(1000) % 4)[kept] == 1).sum())

"""A point's identity holds everything that changes its numbers; the runner checks a plan before it runs."""

import os
import re

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_cli

from annbench import load_results
from annbench.errors import UserError
from annbench.results.schema import key_of, point_id
from annbench.runner import identity
from annbench.runner.blas import BLAS_FROM_NQ
from annbench.runner.plan import BuildPoint, Plan
from annbench.runner.sweep import run_plan
from annbench.runner.timing import TimingRule

PLUGINS = str(ROOT / "tests" / "plugins")
FLAT = ["--index", "flat", "--nq", "100", "--queries", "text", "--k", "10", "--min-time", "0.05", "--repeats", "2"]


@pytest.fixture
def plugin_env(monkeypatch):
    monkeypatch.setenv("ANNBENCH_BACKENDS", "crashy=crashing:Crashing")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), PLUGINS]))


def _sweep(t2i_file, res, *args):
    r = run_cli("sweep", "--dataset", str(t2i_file), *args, "--results", str(res))
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_every_setting_that_changes_the_numbers_makes_a_new_point(tmp_path, t2i_file):
    res = tmp_path / "res"
    assert "1 measured, 0 already stored" in _sweep(t2i_file, res, *FLAT)
    assert "0 measured, 1 already stored" in _sweep(t2i_file, res, *FLAT)
    for changed in (["--blas-threshold", "128000"], ["--min-time", "0.06"], ["--repeats", "3"], ["--threads", "1"]):
        assert "1 measured, 0 already stored" in _sweep(t2i_file, res, *FLAT, *changed), changed
    df = load_results(res)
    assert len(df) == 5 and df["id"].is_unique
    assert (df["blas_threshold"] == BLAS_FROM_NQ * 512).sum() == 4  # faiss >= 1.14.2 counts nq*d
    assert set(df["blas_threshold"]) == {BLAS_FROM_NQ * 512, 128000}
    assert sorted(len(r) for r in df["rounds"]) == [2, 2, 2, 2, 3]


def test_records_hold_the_machine_and_the_versions_that_ran_them(tmp_path, t2i_file, plugin_env):
    res = tmp_path / "res"
    _sweep(t2i_file, res, *FLAT)
    _sweep(t2i_file, res, "--index", "crashy", "--nq", "100", "--queries", "text", "--min-time", "0.02")
    df = load_results(res).set_index("index")
    flat, crashy = df.loc["flat"], df.loc["crashy"]
    assert flat["machine"]["cores"] == identity.cores() and flat["machine"]["cpu_model"]
    assert flat["versions"]["faiss"].startswith("faiss") and "==" in flat["versions"]["faiss"]
    assert {"numpy", "python", "annbench"} <= set(flat["versions"])
    assert "faiss" not in crashy["versions"] and pd.isna(crashy["blas_threshold"])  # numpy alone ran it
    assert flat["env"] != crashy["env"]
    assert flat["env"] == identity.env_id(flat["machine"], flat["versions"], flat["runtime"])
    assert flat["runtime"] == identity.runtime()  # the tests run with OMP_WAIT_POLICY=PASSIVE: keyed too


def _plan(t2i_file, **over) -> Plan:
    settings = dict(dataset=str(t2i_file), dataset_name="t2i", query_sets=["text"], k=10, nqs=[100], threads=1,
                    builds=[BuildPoint("flat", {}, [{}])], timing=TimingRule(0.05, 2))
    return Plan(**{**settings, **over})


def test_a_library_upgrade_measures_again_and_never_shares_a_table_unnoticed(tmp_path, t2i_file, monkeypatch,
                                                                             capsys):
    res = str(tmp_path / "res")
    assert run_plan(_plan(t2i_file, builds=[BuildPoint("flat", {}, [{}]), BuildPoint("hnswlib", {}, [{"ef": 32}])]),
                    res)["measured"] == 2
    real = identity.versions
    monkeypatch.setattr(identity, "versions", lambda libs: {**real(libs), **(
        {"faiss": "faiss-cpu==0.0.1"} if "faiss" in libs else {})})
    counts = run_plan(_plan(t2i_file, builds=[BuildPoint("flat", {}, [{}]), BuildPoint("hnswlib", {}, [{"ef": 32}])]),
                      res)
    assert (counts["measured"], counts["resumed"]) == (1, 1)  # the faiss point again; hnswlib's is unchanged
    r = run_cli("summary", "--results", res)
    assert r.returncode == 0, r.stderr
    assert "== environment: faiss-cpu==0.0.1 ==" in r.stdout and f"== environment: {real(['faiss'])['faiss']} ==" in r.stdout
    assert r.stdout.count("hnswlib") >= 2  # comparable with either faiss version, shown beside each
    only = run_cli("summary", "--results", res, "--env", "faiss-cpu==0.0.1")
    assert "== environment" not in only.stdout and "flat" in only.stdout
    assert "hnswlib" in only.stdout  # runs no faiss: comparable with this faiss too


def test_a_rerun_under_another_blas_threshold_is_never_pooled_with_the_first(tmp_path, t2i_file):
    res = tmp_path / "res"
    _sweep(t2i_file, res, *FLAT)
    _sweep(t2i_file, res, *FLAT, "--blas-threshold", "1000000000")
    _sweep(t2i_file, res, "--index", "hnswlib", "--nq", "100", "--queries", "text", "--min-time", "0.05",
           "--repeats", "2")
    text = run_cli("summary", "--results", str(res)).stdout
    assert "== environment: faiss BLAS threshold 1000000000 ==" in text
    assert f"== environment: faiss BLAS threshold {BLAS_FROM_NQ * 512} ==" in text
    for block in text.split("== environment")[1:]:  # one flat row per table, hnswlib in both
        assert block.count("\n  flat ") == 1 and "\n  hnswlib " in block


def test_the_runner_checks_a_plan_from_python_before_writing_anything(tmp_path, t2i_file):
    res = tmp_path / "res"
    cases = [(dict(nqs=[5000]), "exceeds the 2148 queries of query set 'text'"),
             (dict(k=500), "exceeds the ground-truth depth 100"),
             (dict(threads=-1), "threads must be an integer > 0"),
             (dict(timing=TimingRule(-1.0, 3)), "min_time must be a number > 0"),
             (dict(timing=TimingRule(0.1, 0)), "repeats must be an integer > 0"),
             (dict(builds=[BuildPoint("bin_flat", {}, [{}])]), "searches hamming data"),
             (dict(builds=[BuildPoint("flat", {}, [{}], reranks=[10])]), "holds float vectors")]
    for over, message in cases:
        with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
            run_plan(_plan(t2i_file, **over), str(res))
        assert not res.exists()


def test_a_dataset_of_the_same_name_but_other_vectors_is_refused_from_python(tmp_path, t2i_file, i2i_dataset):
    from annbench.data.hdf5io import write_dataset

    res = str(tmp_path / "res")
    run_plan(_plan(t2i_file), res)
    other = write_dataset(i2i_dataset, tmp_path / "t2i.hdf5")  # same name, another base
    with pytest.raises(UserError, match="holds results for a dataset 't2i' of n=1000"):
        run_plan(_plan(other, query_sets=["holdout"], nqs=[50]), res)


def test_index_parameters_are_checked_for_a_plan_made_in_python(tmp_path, t2i_file):
    res = tmp_path / "res"
    bad = [BuildPoint("ivf_flat", {"nlist": 64, "bogus": 3}, [{"nprobe": 4}]),
           BuildPoint("ivf_flat", {"nlist": 64}, [{"nprobe": 500}])]
    for bp, message in zip(bad, ("unknown build parameter(s) for ivf_flat: bogus", "nprobe=500 exceeds nlist=64")):
        with pytest.raises(UserError, match=re.escape(message)):
            run_plan(_plan(t2i_file, builds=[bp]), str(res))
    assert not res.exists()


def test_keys_differ_by_environment():
    plan = Plan(dataset="x.hdf5", dataset_name="x", query_sets=["text"], k=10, nqs=[1], threads=2)
    bp = BuildPoint("flat", {}, [{}])
    a, b = plan.keys(bp, "env-a", 10240), plan.keys(bp, "env-b", 10240)
    assert point_id(a[0]) != point_id(b[0]) and point_id(a[0]) == point_id(plan.keys(bp, "env-a", 10240)[0])


def test_a_backends_revision_makes_its_points_new_and_leaves_the_others_ids_alone():
    """annoy's revision 1 searches a batch on its threads: a point stored by revision 0 (one thread)
    must be measured again, not resumed; a backend at revision 0 keeps the id it always had."""
    plan = Plan(dataset="x.hdf5", dataset_name="x", query_sets=["text"], k=10, nqs=[100], threads=2)
    annoy, = plan.keys(BuildPoint("annoy", {"n_trees": 4}, [{"search_k": 200}]), "env-a", None)
    flat, = plan.keys(BuildPoint("flat", {}, [{}]), "env-a", None)
    assert annoy["revision"] == 1 and flat["revision"] is None
    assert point_id(annoy) != point_id({**annoy, "revision": None})  # the id revision 0 stored it under
    assert point_id(flat) == point_id({k: v for k, v in flat.items() if k != "revision"})
    assert key_of({**annoy, "status": "ok"})["revision"] == 1


def test_a_record_of_an_older_revision_is_superseded_once_the_newer_has_measured_its_point(tmp_path, t2i_file):
    import json

    res = tmp_path / "res"
    _sweep(t2i_file, res, "--index", "annoy", "--n_trees", "4", "--search_k", "200,400", "--nq", "10",
           "--queries", "text")
    new = sorted((res / "records").glob("*.json"))
    assert len(new) == 2
    for path in new:  # as revision 0 stored them: no revision in the key, slower
        rec = json.loads(path.read_text())
        old = {k: v for k, v in rec.items() if k != "revision"}
        old["id"] = point_id(key_of(old))
        old["qps"] = rec["qps"] / 2
        (res / "records" / f"{old['id']}.json").write_text(json.dumps(old))
    assert len(list((res / "records").glob("*.json"))) == 4
    df = load_results(res)
    assert len(df) == 2 and (df["revision"] == 1).all()
    for path in new:  # the newer gone, the older is what there is
        path.unlink()
    df = load_results(res)
    assert len(df) == 2 and "revision" not in df  # none of them has one


def test_percentiles_from_too_few_batches_are_not_stored(tmp_path, t2i_file, plugin_env):
    res = tmp_path / "res"
    _sweep(t2i_file, res, "--index", "crashy", "--delay", "0.02", "--nq", "1000", "--queries", "text",
           "--min-time", "0.01", "--repeats", "2")
    rec = load_results(res).iloc[0]
    assert rec["batches_timed"] == 10 and rec["batch_p50_ms"] >= 20  # min_batches 10, shared by 2 rounds
    assert rec["batch_p95_ms"] is None and rec["batch_p99_ms"] is None
    table = run_cli("results", "--results", str(res))
    assert "<100 batches" in table.stdout


def test_rounds_are_interleaved_across_the_search_settings(tmp_path, t2i_file):
    res = tmp_path / "res"
    _sweep(t2i_file, res, "--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,4", "--nq", "100", "--queries",
           "text", "--min-time", "0.06", "--repeats", "3")
    df = load_results(res).set_index("search.nprobe")
    a, b = ([r["started_s"] for r in df.loc[p, "rounds"]] for p in (1, 4))
    assert a[0] < b[0] < a[1] < b[1] < a[2] < b[2]
    for _, row in df.iterrows():
        qps = sorted(r["qps"] for r in row["rounds"])
        assert (row["qps_min"], row["qps"], row["qps_max"]) == (qps[0], qps[1], qps[2])


def test_nq_larger_than_the_query_set_is_a_one_line_error(tmp_path, t2i_file):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--nq", "3000", "--queries", "text",
                "--results", str(tmp_path / "res"))
    assert r.returncode == 2 and "nq=3000 exceeds the 2148 queries" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "res").exists()


def test_cost_figures_are_recorded_for_every_point(tmp_path, t2i_file):
    res = tmp_path / "res"
    (tmp_path / "cfg.yaml").write_text("""
queries: [text]
nq: [100]
min_time: 0.03
threads: 2
indexes:
  - {index: annoy, build: {n_trees: [4]}, search: {search_k: [1000]}}
  - {index: hnswlib, build: {M: [8], ef_construction: [32]}, search: {ef: [32]}}
  - {index: ivf_flat, build: {nlist: [16]}, search: {nprobe: [4]}}
""")
    _sweep(t2i_file, res, "--config", str(tmp_path / "cfg.yaml"))
    df = load_results(res).set_index("index")
    assert df.loc["annoy", "cpu_util"] > 1.3  # annoy searches a batch of 100 on both threads (1.75 here, quiet)
    assert (df["cpu_util"] > 0.5).all()
    assert (df["peak_rss_build_bytes"] >= df["rss_before_build_bytes"]).all() and (df["peak_rss_search_bytes"] > 0).all()
    assert (df["search_rss_growth_bytes"] >= 0).all()
    assert (df["search_rss_growth_bytes"] < 50 << 20).all()  # recall's buffers are not counted as search
    assert (df["bytes_per_vector"] == df["index_bytes"] / 1000).all() and (df["vector_bytes"] == 2048).all()
    assert pd.isna(df.loc["hnswlib", "ndis_per_query"]) and pd.isna(df.loc["annoy", "ndis_per_query"])  # no counter
    assert 16 < df.loc["ivf_flat", "ndis_per_query"] < 16 + 1000  # the 16 centroids, then the probed lists


def test_a_value_given_twice_is_one_point_built_once_and_measured_once(tmp_path):
    ds, res = tmp_path / "two-sets.hdf5", tmp_path / "res"
    r = run_cli("datasets", "make", "clip-synth", "--n", "2000", "--nq", "50", "--out", str(ds))
    assert r.returncode == 0, r.stderr
    (tmp_path / "cfg.yaml").write_text("""
nq: [10, 10]
queries: [text, image, text]
min_time: 0.02
indexes:
  - {index: ivf_flat, build: {nlist: [16, 16]}, search: {nprobe: [1, 4, 4]}}
  - {index: ivf_flat, build: {nlist: [16]}, search: {nprobe: [4, 16]}}
""")
    r = run_cli("sweep", "--dataset", str(ds), "--config", str(tmp_path / "cfg.yaml"), "--results", str(res))
    assert r.returncode == 0, r.stderr
    assert "sweep: 1 build point(s), 6 measured point(s)" in r.stderr  # nprobe 1, 4, 16 x text, image
    assert "sweep done: 6 measured, 0 already stored" in r.stdout
    df = load_results(res)
    assert len(df) == 6 and df["id"].is_unique and set(df["query_set"]) == {"text", "image"}
    assert sorted(df["search.nprobe"]) == [1, 1, 4, 4, 16, 16]
    # the command line's lists alike, query sets comma-separated
    r = run_cli("sweep", "--dataset", str(ds), "--index", "ivf_flat", "--nlist", "16,16", "--nprobe", "16,4,1,4",
                "--nq", "10,10", "--queries", "text,image", "--min-time", "0.02", "--results", str(res))
    assert r.returncode == 0, r.stderr
    assert "sweep: 1 build point(s), 6 measured point(s)" in r.stderr
    assert "sweep done: 0 measured, 6 already stored" in r.stdout


def test_builds_of_one_setting_with_other_rerank_depths_share_their_common_points_once():
    plan = Plan(dataset="x.hdf5", dataset_name="x", query_sets=["q"], k=10, nqs=[1], threads=2,
                builds=[BuildPoint("bin_flat", {}, [{}], reranks=[0, 10]), BuildPoint("bin_flat", {}, [{}], reranks=[0]),
                        BuildPoint("bin_flat", {}, [{}, {}], reranks=[10, 0, 10])])
    assert [bp.reranks for bp in plan.builds] == [[0, 10], [0]]  # 10, 0, 10: the first's depths again
    from annbench.runner.sweep import first_keys
    keys = first_keys([plan.keys(bp, "env", None) for bp in plan.builds])
    assert [[k["rerank"] for k in ks] for ks in keys] == [[0, 10], []]


def test_save_neighbors_measures_again_a_point_stored_without_its_ids(tmp_path, t2i_file):
    res = tmp_path / "res"
    args = ["--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,4", "--nq", "10", "--queries", "text",
            "--min-time", "0.02"]
    assert "2 measured, 0 already stored" in _sweep(t2i_file, res, *args)
    first = load_results(res).set_index("id")
    assert not (res / "neighbors").exists()
    assert "2 measured, 0 already stored" in _sweep(t2i_file, res, *args, "--save-neighbors")
    again = load_results(res).set_index("id")
    assert sorted(again.index) == sorted(first.index)  # the same points, their records replaced
    for rid, rec in again.iterrows():
        ids = np.load(res / rec["neighbors_file"])
        assert ids.shape == (rec["n_queries"], 10) and (res / rec["per_query_recall_file"]).is_file()
        assert rec["recall"] == first.loc[rid, "recall"]  # the index and the queries are the same
    assert "0 measured, 2 already stored" in _sweep(t2i_file, res, *args, "--save-neighbors")
    assert "0 measured, 2 already stored" in _sweep(t2i_file, res, *args)

"""One selection rule for summary and report, budgets, ties within noise, environments kept apart."""

import pandas as pd
import pytest
from conftest import run_cli

from annbench import load_results
from annbench.report.load import load
from annbench.report.palette import index_colors
from annbench.report.sections import build_sections
from annbench.results.envs import split
from annbench.results.select import GROUP, Budget, best
from annbench.results.summary import counted, setting

RECALL = "recall_ties"


@pytest.fixture(scope="module")
def results(tmp_path_factory, t2i_file):
    """Real points at two k and two thread counts: none of them may compete with another."""
    res = tmp_path_factory.mktemp("sel") / "res"
    cfg = res.parent / "cfg.yaml"
    cfg.write_text("""
queries: [text]
nq: [10, 100]
min_time: 0.03
repeats: 2
indexes:
  - index: flat
  - index: ivf_flat
    build: {nlist: [16]}
    search: {nprobe: [2, 8, 16]}
  - index: ivf_sq8
    build: {nlist: [16]}
    search: {nprobe: [8, 16]}
  - index: ivf_pq
    build: {nlist: [16], m: [16], nbits: [6]}
    search: {nprobe: [16]}
""")
    for k, threads in (("10", "2"), ("20", "2"), ("10", "1")):
        r = run_cli("sweep", "--dataset", str(t2i_file), "--config", str(cfg), "--k", k, "--threads", threads,
                    "--results", str(res))
        assert r.returncode == 0, r.stderr
    return res


def _winners(df, target, budget=Budget()):
    w = best(df, target, RECALL, budget)
    return {tuple(r[GROUP[1:7]]): (r["index"], r["build_label"], r["search_label"]) for _, r in w.iterrows()}


def test_groups_never_mix_k_threads_or_nq(results):
    w = best(load_results(results), 0.5, RECALL)
    assert sorted({(int(k), int(t), int(n)) for k, t, n in zip(w["k"], w["threads"], w["nq"])}) == [
        (10, 1, 10), (10, 1, 100), (10, 2, 10), (10, 2, 100), (20, 2, 10), (20, 2, 100)]


def test_report_sections_never_mix_thread_counts_or_k(results):
    data = load([results], RECALL)
    sections = build_sections(data.ok, RECALL, index_colors(data.ok["index"]))
    assert {(s.k, s.threads) for s in sections} == {(10, 1), (10, 2), (20, 2)}
    for sec in sections:
        assert sec.rows["threads"].nunique() == 1 and sec.rows["k"].nunique() == 1
        assert f"{sec.threads} thread" in sec.title and f"k={sec.k}" in sec.title


def test_summary_and_report_name_the_same_winners(results):
    df = load_results(results)
    expected = _winners(df, 0.9)
    data = load([results], RECALL)
    sections = build_sections(data.ok, RECALL, index_colors(data.ok["index"]))
    seen = {}
    for sec in sections:
        for nq, table in sec.best.items():
            for _, r in table[(table["scope"] == "overall") & (table["target"] == 0.9) & table["reached"]].iterrows():
                seen[(sec.dataset, sec.query_set, sec.k, r["threads"], r["device"], nq)] = (
                    r["index"], r["build_label"], r["search_label"])
    assert {(d, q, int(k), int(t), dev, int(n)) for d, q, k, t, dev, n in expected} == set(seen)
    for key, who in expected.items():
        d, q, k, t, dev, n = key
        assert seen[(d, q, int(k), int(t), dev, int(n))] == who
    text = run_cli("summary", "--results", str(results), "--targets", "0.9").stdout
    for (d, q, k, t, dev, n), (index, b, s) in expected.items():
        head = f"{d} / {q} queries / {dev} / nq={int(n)} / k={int(k)} / {counted(t, 'thread')}   ("
        block = text.split(head, 1)[1].split("\n\n", 1)[0]
        assert f"fastest at recall >= 0.9: {index} (" in block and f"{setting(b, s)})" in block


def test_a_memory_budget_is_answered_by_the_same_rule(results):
    df = load_results(results)
    assert (df["bytes_per_vector"] == df["index_bytes"] / df["nb"]).all()
    flat = df[df["index"] == "flat"]["bytes_per_vector"].iloc[0]
    assert flat >= 2048  # 512 float32 per vector
    pq = df[df["index"] == "ivf_pq"]["bytes_per_vector"].iloc[0]
    assert pq < flat / 2
    within = best(df, 0.3, RECALL, Budget(max_bytes_per_vector=pq + 1))
    assert set(within["index"]) == {"ivf_pq"}
    r = run_cli("summary", "--results", str(results), "--targets", "0.3", "--max-bytes-per-vector", str(int(pq) + 1))
    assert r.returncode == 0 and "budget <= " in r.stdout and "fastest at recall >= 0.3: ivf_pq (" in r.stdout
    flat_row = next(line for line in r.stdout.splitlines() if line.startswith("  flat "))
    assert "over budget" in flat_row  # it reaches 0.3, not within the budget
    assert not best(df, 0.3, RECALL, Budget(max_build_s=0.0)).shape[0]


def _row(index, qps, lo, hi, rounds=3, **over):
    base = {"environment": "", "dataset": "d", "query_set": "q", "k": 10, "threads": 2, "device": "cpu", "nq": 10,
            "status": "ok", "index": index, "qps": qps, "qps_min": lo, "qps_max": hi, RECALL: 0.95,
            "rounds": [{}] * rounds, "id": index, "build_label": "-", "search_label": "-"}
    return {**base, **over}


@pytest.mark.parametrize("second, tie", [((900, 850, 1010), True), ((900, 850, 940), False),
                                        ((900, 850, 1010, 1), None)])
def test_tie_within_noise_when_the_rounds_overlap(second, tie):
    df = pd.DataFrame([_row("a", 1000, 950, 1100), _row("b", *second)])
    w = best(df, 0.9, RECALL).iloc[0]
    assert (w["index"], w["runner_up_index"], w["tie"]) == ("a", "b", tie)


def _env_row(machine, versions, index):
    return {"machine_label": machine, "versions": versions, "index": index}


def test_environments_split_by_machine_and_by_conflicting_versions():
    one = pd.DataFrame([_env_row("m1", {"faiss": "faiss-cpu==1.15.1", "numpy": "n2"}, "flat"),
                        _env_row("m1", {"hnswlib": "hnswlib==0.8.0", "numpy": "n2"}, "hnswlib")])
    assert [(label, len(rows)) for label, rows in split(one)] == [("", 2)]
    upgraded = pd.concat([one, pd.DataFrame([_env_row("m1", {"faiss": "faiss-cpu==1.16.0", "numpy": "n2"}, "flat")])],
                         ignore_index=True)
    groups = {label: sorted(rows["index"]) for label, rows in split(upgraded)}
    assert groups == {"faiss-cpu==1.15.1": ["flat", "hnswlib"], "faiss-cpu==1.16.0": ["flat", "hnswlib"]}
    machines = pd.concat([one, pd.DataFrame([_env_row("m2", {"faiss": "faiss-cpu==1.15.1", "numpy": "n2"}, "flat")])],
                         ignore_index=True)
    assert {label: len(rows) for label, rows in split(machines)} == {"m1": 2, "m2": 1}


def test_environments_are_only_combinations_some_point_was_measured_in():
    t1, t2 = {"rule": "r", "repeats": 3, "min_time_s": 0.2}, {"rule": "r", "repeats": 3, "min_time_s": 0.5}
    rows = pd.DataFrame([
        {"machine_label": "m", "versions": {"faiss": "f"}, "timing": t1, "blas_threshold": 2560, "index": "flat-a"},
        {"machine_label": "m", "versions": {"faiss": "f"}, "timing": t2, "blas_threshold": 10**9, "index": "flat-b"},
        {"machine_label": "m", "versions": {"hnswlib": "h"}, "timing": t1, "blas_threshold": None, "index": "hnswlib"}])
    groups = {label: sorted(part["index"]) for label, part in split(rows)}
    assert sorted(groups.values()) == [["flat-a", "hnswlib"], ["flat-b"]]
    assert all("faiss BLAS threshold" in label and "timing" in label for label in groups)


def test_results_summary_and_report_keep_to_the_datasets_query_sets_and_indexes_named(results, tmp_path):
    df = load_results(results)
    csv = run_cli("results", "--results", str(results), "--index", "flat,ivf_sq8", "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    listed = pd.read_csv(__import__("io").StringIO(csv.stdout))
    assert sorted(listed["index"].unique()) == ["flat", "ivf_sq8"]
    assert len(listed) == int(df["index"].isin(["flat", "ivf_sq8"]).sum())
    text = run_cli("summary", "--results", str(results), "--index", "ivf_flat", "--dataset", "t2i",
                   "--queries", "text").stdout
    rows = {line.split()[0] for line in text.splitlines() if line.startswith("  ") and "QPS @" not in line
            and not line.startswith("  fastest")}
    assert rows == {"ivf_flat"}
    page = load([results], RECALL, points={"index": ["ivf_pq"], "dataset": None, "query_set": None})
    assert set(page.records["index"]) == {"ivf_pq"}
    r = run_cli("report", "--results", str(results), "--index", "ivf_pq", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert f"{int((df['index'] == 'ivf_pq').sum())} points from" in html and ">ivf_flat<" not in html
    # a name the results do not hold is a one-line error naming what they hold
    for args, message in ((["--index", "hnsw"], "--index: the results hold no 'hnsw' (they hold: flat, ivf_flat, "
                                                "ivf_pq, ivf_sq8)"),
                          (["--queries", "image"], "--queries: the results hold no 'image' (they hold: text)"),
                          (["--index", "flat", "--dataset", "t2i,other"], "the results hold no 'other'")):
        for command in ("results", "summary", "report"):
            out = ["--out", str(tmp_path / "no")] if command == "report" else []
            r = run_cli(command, "--results", str(results), *args, *out)
            assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "no").exists()


def test_names_each_held_but_never_measured_together_are_an_error_that_says_so():
    from annbench.errors import UserError
    from annbench.results.subset import select_points

    df = pd.DataFrame({"dataset": ["a", "b"], "query_set": ["text", "text"], "index": ["flat", "hnsw"]})
    assert list(select_points(df, dataset=["b"])["index"]) == ["hnsw"]
    with pytest.raises(UserError, match="no results match --dataset a --index hnsw: each name is there, but not together"):
        select_points(df, dataset=["a"], index=["hnsw"])

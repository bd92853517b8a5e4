"""Binary codes in the summary and the report: judged by the float truth, beside the float indexes."""

import json
import re

import pytest
import yaml
from conftest import run_cli

from annbench import load_results
from annbench.data.hdf5io import write_dataset


def _sweep(root, *args):
    return run_cli("sweep", "--queries", "text", "--nq", "500", "--k", "10", "--min-time", "0.01",
                   "--threads", "1", *args, cwd=root)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, t2i_dataset):
    """The real text-to-image set swept with float indexes, and its sign codes with binary ones."""
    root = tmp_path_factory.mktemp("binrep")
    write_dataset(t2i_dataset, root / "t2i.hdf5")
    r = run_cli("datasets", "--dir", str(root), "binarize", "t2i", "--method", "sign", cwd=root)
    assert r.returncode == 0, r.stderr
    r = _sweep(root, "--dataset", "t2i.hdf5", "--index", "hnsw", "--M", "16", "--ef", "16,64", "--results", "float")
    assert r.returncode == 0, r.stderr
    (root / "binary.yaml").write_text(yaml.safe_dump({
        "dataset": "t2i-sign512.hdf5", "queries": ["text"], "k": 10, "nq": [500], "min_time": 0.01, "threads": 1,
        "indexes": [{"index": "bin_flat", "rerank": [0, 100]},
                    {"index": "bin_hnsw", "build": {"M": [16]}, "search": {"ef": [32]}, "rerank": [0, 100]}]}))
    r = run_cli("sweep", "--config", "binary.yaml", "--results", "binary", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


def test_summary_judges_binary_codes_by_the_float_truth(swept):
    r = run_cli("summary", "--results", "float", "--results", "binary", "--targets", "0.5,0.9", cwd=swept)
    assert r.returncode == 0, r.stderr
    main, _, float_truth = r.stdout.partition("judged by the float truth")
    assert "t2i-sign512 / text queries" in main and "recall = recall_ties" in main
    table = float_truth.split("\nt2i / text queries / cpu / nq=500")[1]
    assert "recall = recall_float_ties" in table
    rows = {line.split()[0] + (" " + line.split()[2] if "·" in line else ""): line
            for line in table.splitlines()[2:] if line.startswith("  ") and "fastest" not in line}
    assert set(rows) == {"hnsw", "bin_flat sign512", "bin_hnsw sign512"}
    # float truth: codes alone reach 0.28 (< 0.5), a re-rank of the top 100 0.73, with the float bytes it keeps
    assert "64 B +2,048 B re-rank" in rows["bin_flat sign512"] and "rerank=100" in rows["bin_flat sign512"]
    hnsw_bytes = load_results(swept / "float")["bytes_per_vector"].iloc[0]
    assert hnsw_bytes > 2048 + 2 * 16 * 4  # the float vector and the graph's level-0 links (2M ids of 4 bytes)
    assert f"{hnsw_bytes:,.0f} B" in rows["hnsw"] and "re-rank" not in rows["hnsw"]
    r = run_cli("summary", "--results", "binary", "--recall", "recall_float", cwd=swept)
    assert r.returncode == 0 and "recall = recall_float)" in r.stdout, r.stderr


def _charts(page: str) -> dict:
    blob = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    return json.loads(blob)


def test_report_draws_binary_and_float_on_one_float_truth_chart(swept):
    r = run_cli("report", "--results", "float", "--results", "binary", "--out", "rep", cwd=swept)
    assert r.returncode == 0, r.stderr
    charts = _charts((swept / "rep" / "index.html").read_text())
    qps = charts["t2i-text-float-truth-qps-nq500"]
    series = {s["name"]: s for s in qps["series"]}
    assert set(series) == {"hnsw", "bin_flat · sign512", "bin_hnsw · sign512"}
    assert qps["x"]["label"] == "recall (float truth, tie-aware)"
    info = [dict(p["info"]) for p in series["bin_flat · sign512"]["points"]]
    assert {i["re-rank depth"] for i in info} == {"0", "100"}
    assert {i["bytes / vector"] for i in info} == {"64 B", "64 B +2,048 B re-rank"}
    size = {**load_results(swept / "float").groupby("index")["bytes_per_vector"].first(),
            **load_results(swept / "binary").groupby("index")["bytes_per_vector"].first()}
    assert all(dict(p["info"])["bytes / vector"] == f"{size['hnsw']:,.0f} B" for p in series["hnsw"]["points"])
    memory = {s["name"]: sorted(p["x"] for p in s["points"]) for s in charts["t2i-text-float-truth-bytes"]["series"]}
    assert memory["bin_hnsw · sign512"] == pytest.approx([size["bin_hnsw"], size["bin_hnsw"] + 2048], rel=1e-5)
    assert memory["hnsw"] == pytest.approx([size["hnsw"]], rel=1e-5)
    assert (swept / "rep" / "t2i-text-float-truth-bytes.png").is_file()
    # the binary dataset keeps its own section, judged by its Hamming truth
    assert "t2i-sign512-text-recall-qps-nq500" in charts


def test_float_only_report_has_no_float_truth_chart(swept):
    r = run_cli("report", "--results", "float", "--out", "rep-float", cwd=swept)
    assert r.returncode == 0, r.stderr
    assert not [c for c in _charts((swept / "rep-float" / "index.html").read_text()) if "float-truth" in c]
    r = run_cli("report", "--results", "binary", "--recall", "recall_float_ties", "--out", "rep-bin", cwd=swept)
    assert r.returncode == 0, r.stderr

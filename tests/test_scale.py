"""annbench scale: nested prefixes with exact truth, one results directory, the answer as a function of n."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import brute_force, run_cli

from annbench import load_results
from annbench.data.hdf5io import read_dataset, write_dataset
from annbench.data.model import Dataset, QuerySet
from annbench.errors import UserError
from annbench.groundtruth.build_prefix import make_prefix
from annbench.results.by_size import best_by_size, crossovers
from annbench.results.select import best

CONFIG = """
queries: [text]
k: 10
nq: [50]
min_time: 0.02
repeats: 2
indexes:
  - index: flat
  - index: ivf_flat
    build: {nlist: [16]}
    search: {nprobe: [2, 16]}
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory, t2i_dataset):
    root = tmp_path_factory.mktemp("scale")
    qs = t2i_dataset.query_sets["text"]
    pairs = np.arange(qs.nq) % t2i_dataset.nb  # some pairs lie beyond a prefix
    text = QuerySet("text", qs.queries, qs.neighbors, qs.distances, "text", qs.labels, pairs, "paired")
    ds = Dataset("t2i", "angular", t2i_dataset.xb, {"text": text}, "image", t2i_dataset.base_labels)
    return write_dataset(ds, root / "t2i.hdf5")


def test_a_prefix_holds_the_first_n_vectors_and_their_exact_truth(source, tmp_path):
    out = make_prefix(source, 300, tmp_path)
    full, pre = read_dataset(source), read_dataset(out)
    assert out.name == "t2i-first300.hdf5" and pre.nb == 300 and np.array_equal(pre.xb, full.xb[:300])
    assert pre.base_labels == full.base_labels[:300] and pre.attrs["scale_family"] == "t2i"
    qs = pre.query_sets["text"]
    D, I = brute_force(full.xb[:300], qs.queries, 100, "angular")
    assert np.allclose(qs.distances, D, atol=1e-5) and (qs.neighbors == I).mean() > 0.999  # ties aside
    assert np.array_equal(qs.pairs, np.where(full.query_sets["text"].pairs < 300, full.query_sets["text"].pairs, -1))
    stamp = out.stat().st_mtime_ns
    assert make_prefix(source, 300, tmp_path) == out and out.stat().st_mtime_ns == stamp  # reused, not remade
    with pytest.raises(UserError, match="n=5000 must be between 1 and the 1000 base vectors"):
        make_prefix(source, 5000, tmp_path)


def test_scale_sweeps_every_size_into_one_results_directory(source, tmp_path):
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    res = tmp_path / "res"
    r = run_cli("scale", "--dataset", str(source), "--n", "250,500,1000", "--config", str(tmp_path / "cfg.yaml"),
                "--results", str(res), "--dir", str(tmp_path / "prefixes"))
    assert r.returncode == 0, r.stderr
    assert "scale done: 3 sizes; 9 measured" in r.stdout
    df = load_results(res)
    assert sorted(df["nb"].unique()) == [250, 500, 1000] and set(df["scale_family"]) == {"t2i"}
    table = best_by_size(df, 0.5, "recall_ties")
    for (n, index), row in table.set_index(["n", "index"]).iterrows():  # the summary's rule at each n
        part = df[df["nb"] == n]
        same = best(part, 0.5, "recall_ties", per=["index"]).set_index("index").loc[index]
        assert (same["search_label"], same["qps"]) == (row["search_label"], row["qps"])
    text = run_cli("summary", "--results", str(res), "--targets", "0.5").stdout
    assert "The answer as a function of n" in text and "     1,000 " in text
    r = run_cli("report", "--results", str(res), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "as n grows" in html and "Best QPS at recall ≥ 0.9 vs n" in html and "Fastest setting at recall" in html
    again = run_cli("scale", "--dataset", str(source), "--n", "250,500,1000", "--config",
                    str(tmp_path / "cfg.yaml"), "--results", str(res), "--dir", str(tmp_path / "prefixes"))
    assert "0 measured, 9 already stored" in again.stdout  # resumes like any sweep


@pytest.mark.parametrize("args, message", [(["--n", "0"], "--n values must be positive integers"),
                                          (["--n", "2000"], "n=2000 exceeds the 1000 base vectors"),
                                          (["--n", "x"], "--n values must be positive integers")])
def test_bad_sizes_are_one_line_errors(source, tmp_path, args, message):
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    r = run_cli("scale", "--dataset", str(source), *args, "--config", str(tmp_path / "cfg.yaml"),
                "--results", str(tmp_path / "res"), "--dir", str(tmp_path / "p"))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "res").exists()


def test_crossover_is_where_the_leader_stays_ahead():
    rows = []
    for n, (a, b) in {1000: (100, 300), 10000: (90, 120), 100000: (80, 60), 1000000: (70, 20)}.items():
        rows += [{"environment": "", "scale_family": "f", "query_set": "q", "k": 10, "threads": 2, "device": "cpu",
                  "nq": 10, "n": n, "index": "hnsw", "qps": a}, {"environment": "", "scale_family": "f",
                  "query_set": "q", "k": 10, "threads": 2, "device": "cpu", "nq": 10, "n": n, "index": "flat",
                  "qps": b}]
    (c,) = crossovers(pd.DataFrame(rows))
    assert (c["leader"], c["other"], c["before_n"], c["from_n"]) == ("hnsw", "flat", 10000, 100000)


def test_a_setting_a_smaller_size_cannot_hold_is_left_out_there_and_measured_where_it_fits(source, tmp_path):
    (tmp_path / "cfg.yaml").write_text(CONFIG.replace("nlist: [16]", "nlist: [16, 400]"))
    res = tmp_path / "res"
    r = run_cli("scale", "--dataset", str(source), "--n", "250,500", "--config", str(tmp_path / "cfg.yaml"),
                "--results", str(res), "--dir", str(tmp_path / "prefixes"))
    assert r.returncode == 0, r.stderr
    assert ("scale: n=250: not measured: ivf_flat {'nlist': 400} cpu: ivf_flat: nlist=400 exceeds the base size 250"
            in r.stdout)
    assert r.stdout.count("not measured") == 1
    df = load_results(res)
    wide = df[df["index"] == "ivf_flat"].groupby("nb")["build_label"].apply(lambda s: sorted(set(s)))
    assert wide.to_dict() == {250: ["nlist=16"], 500: ["nlist=16", "nlist=400"]}
    # what no size can hold is refused before anything runs, as a sweep refuses it
    (tmp_path / "big.yaml").write_text(CONFIG.replace("nlist: [16]", "nlist: [4000]"))
    r = run_cli("scale", "--dataset", str(source), "--n", "250,500", "--config", str(tmp_path / "big.yaml"),
                "--results", str(tmp_path / "res2"), "--dir", str(tmp_path / "prefixes"))
    assert r.returncode == 2 and "nlist=4000 exceeds the base size 500" in r.stderr
    assert not (tmp_path / "res2").exists()

"""Every binary backend under one contract, the structure filters, float re-rank, and the sweep CLI."""

import json

import h5py
import numpy as np
import pytest
import yaml
from conftest import run_cli

from annbench import load_results
from annbench.backends import registry
from annbench.data.binarize import write_binary
from annbench.data.hdf5io import write_dataset
from annbench.errors import UserError
from annbench.groundtruth.binary import exact_binary_knn
from annbench.groundtruth.build_binary import binarize
from annbench.metrics import all_recalls, recall_ties
from annbench.runner.rerank import Reranked, pair_queries
from annbench.runner.timing import QueryOrder, TimingRule, time_round

# name -> (metric, build, the most accurate search setting we sweep)
BINARY = {
    "bin_flat": ("hamming", {}, {}),
    "bin_ivf": ("hamming", {"nlist": 16}, {"nprobe": 16}),
    "bin_hnsw": ("hamming", {"M": 16, "ef_construction": 100}, {"ef": 200}),
    "usearch_hamming": ("hamming", {"connectivity": 16}, {"expansion_search": 200}),
    "bin_jaccard_flat": ("jaccard", {}, {}),
    "usearch_tanimoto": ("jaccard", {"connectivity": 16}, {"expansion_search": 200}),
}
EXACT = ("bin_flat", "bin_jaccard_flat")


def make(name, bits, xb, metric=None, **build):
    default_metric, default_build, _ = BINARY.get(name, ("jaccard", {}, {}))
    index = registry.get(name)(bits, metric or default_metric, "cpu", 1, **(build or default_build))
    index.train(xb)
    index.add(xb)
    return index


@pytest.fixture(scope="module")
def synthetic():
    """Clustered 128-bit codes: 40 centres, members differ by ~8% of the bits."""
    rng = np.random.default_rng(11)
    centres = rng.random((40, 128)) < 0.3
    members = centres[rng.integers(0, 40, 1500)] ^ (rng.random((1500, 128)) < 0.08)
    queries = centres[rng.integers(0, 40, 60)] ^ (rng.random((60, 128)) < 0.08)
    return np.packbits(members, axis=1), np.packbits(queries, axis=1)


@pytest.fixture(scope="module")
def sign_codes(t2i_dataset):
    """The real text-to-image set as 512-bit centred sign codes (first 400 text queries)."""
    ds, truths = binarize(t2i_dataset, "sign", 512)
    qs = ds.query_sets["text"]
    return ds.xb, qs.queries[:400], truths["text"][0][:400]


@pytest.mark.parametrize("name", BINARY)
def test_contract_on_synthetic_codes(name, synthetic):
    xb, xq = synthetic
    metric, _, search = BINARY[name]
    index = make(name, 128, xb)
    index.set_search_params(**search)
    D, I = index.search(xq, 10)
    assert D.shape == I.shape == (60, 10) and D.dtype == np.float32 and I.dtype == np.int64
    assert ((I >= 0) & (I < len(xb))).all()
    assert (np.diff(D, axis=1) >= -1e-6).all()                     # best first
    D_ref, I_ref = exact_binary_knn(xb, xq, 100, metric)   # deep enough to hold the ties at rank 10
    assert recall_ties(I, I_ref, D_ref, 10).mean() >= (1.0 if name in EXACT else 0.95)
    assert np.allclose(D, D_ref[:, :10], atol=1e-6) if name in EXACT else True
    stats = index.stats()
    assert stats["index_bytes"] >= len(xb) * 16


@pytest.mark.parametrize("name", BINARY)
def test_deeper_than_the_base_pads_with_minus_one(name, synthetic):
    xb, xq = synthetic
    index = make(name, 128, xb[:20], **({"nlist": 2} if name == "bin_ivf" else {}))
    index.set_search_params(**({"nprobe": 2} if name == "bin_ivf" else {}))
    D, I = index.search(xq[:5], 30)
    assert I.shape == (5, 30)
    for row_d, row_i in zip(D, I):
        found = row_i[row_i >= 0]
        assert len(set(found)) == len(found) and (row_i[len(found):] == -1).all()  # -1 only at the tail
        assert np.isinf(row_d[len(found):]).all()
        assert len(found) == 20 if name in EXACT else len(found) >= 10


@pytest.mark.parametrize("name", BINARY)
def test_one_query_searches_as_in_a_batch(name, synthetic):
    """USearch answers a lone query with only the matches it found, not a k-wide row."""
    xb, xq = synthetic
    ivf = {"nlist": 2} if name == "bin_ivf" else {}
    index = make(name, 128, xb[:20], **ivf)
    index.set_search_params(**({"nprobe": 2} if ivf else {}))
    D1, I1 = index.search(xq[:1], 30)
    D, I = index.search(xq[:5], 30)
    assert I1.shape == (1, 30) and np.array_equal(I1[0], I[0]) and np.array_equal(D1[0], D[0])


@pytest.mark.parametrize("name", BINARY)
def test_recall_on_real_clip_sign_codes(name, sign_codes):
    xb, xq, _ = sign_codes
    metric, _, search = BINARY[name]
    D_ref, I_ref = exact_binary_knn(xb, xq, 100, metric)
    index = make(name, 512, xb, **({"nlist": 16} if name == "bin_ivf" else {}))
    index.set_search_params(**search)
    _, I = index.search(xq, 10)
    r = all_recalls(xb, xq, I, I_ref, D_ref, 10, metric)
    if name in EXACT:
        assert r == {"recall": 1.0, "recall_ties": 1.0, "recall_eps": 1.0}
    else:
        assert r["recall_ties"] >= 0.95 and r["recall_eps"] >= 0.95


def _brute_filter(xb, xq, superset):
    a, b = np.unpackbits(xq, axis=1).astype(bool), np.unpackbits(xb, axis=1).astype(bool)
    inside = (a[:, None, :] & ~b[None]).any(-1) if superset else (b[None] & ~a[:, None, :]).any(-1)
    return ~inside


@pytest.mark.parametrize("name, superset", [("bin_superstructure", True), ("bin_substructure", False)])
@pytest.mark.parametrize("metric", ["jaccard", "hamming"])
def test_structure_filters_match_brute_force(name, superset, metric):
    rng = np.random.default_rng(5)
    base = rng.random((400, 64)) < 0.2
    queries = rng.random((12, 64)) < 0.2
    for i, q in enumerate(queries):   # plant 3 supersets and 3 subsets of every query
        base[i * 6: i * 6 + 3] = q | (rng.random((3, 64)) < 0.1)
        base[i * 6 + 3: i * 6 + 6] = q & (rng.random((3, 64)) < 0.7)
    xb, xq = np.packbits(base, axis=1), np.packbits(queries, axis=1)
    D, I = make(name, 64, xb, metric=metric).search(xq, 16)
    match = _brute_filter(xb, xq, superset)
    dist = exact_binary_knn(xb, xq, 400, metric)
    for qi in range(len(xq)):
        want = set(np.flatnonzero(match[qi]))
        got = I[qi][I[qi] >= 0]
        assert 3 <= len(want) and (set(got) == want if len(want) <= 16 else set(got) <= want)
        assert (I[qi][len(got):] == -1).all() and np.isinf(D[qi][len(got):]).all()
        order = {i: r for r, i in enumerate(dist[1][qi])}
        assert [order[i] for i in got] == sorted(order[i] for i in got)   # ranked by the metric


def test_rerank_with_every_candidate_is_the_float_truth(t2i_dataset, sign_codes):
    xb, xq, float_I = sign_codes
    text = t2i_dataset.query_sets["text"]
    index = make("bin_flat", 512, xb)
    rows = pair_queries(xq, text.queries[:400])
    full = Reranked(index, t2i_dataset.xb, len(xb), "angular")
    D, I = full.search(rows, 10)
    assert recall_ties(I, float_I, text.distances[:400], 10).mean() == 1.0
    assert np.allclose(D[:, 0], text.distances[:400, 0], atol=1e-5)
    ids = np.full((400, 10), -1)  # the runner's timing loop hands the wrapper paired rows, batch by batch
    time_round(Reranked(index, t2i_dataset.xb, 100, "angular").search, QueryOrder(rows, 0), 7, 10,
               TimingRule(0.001, 1, 1), ids)
    plain = recall_ties(index.search(xq, 10)[1], float_I, text.distances[:400], 10).mean()
    assert (ids >= 0).all() and recall_ties(ids, float_I, text.distances[:400], 10).mean() > plain + 0.3


@pytest.mark.parametrize("call, message", [
    (lambda: registry.get("bin_flat")(512, "angular", "cpu", 1), "searches hamming codes, not 'angular'"),
    (lambda: registry.get("usearch_tanimoto")(512, "hamming", "cpu", 1), "searches jaccard codes"),
    (lambda: registry.get("bin_hnsw")(100, "hamming", "cpu", 1), "multiple of 8"),
    (lambda: make("bin_flat", 64, np.zeros((5, 64), np.float32)), "expected packed binary codes"),
    (lambda: make("bin_jaccard_flat", 64, np.zeros((5, 4), np.uint8)), "4 bytes per code, the index holds 8"),
    (lambda: registry.get("bin_ivf").check_params({"nlist": 8}, {"nprobe": 9}, 100, 256), "nprobe=9 exceeds nlist=8"),
    (lambda: registry.get("bin_flat").check_params({}, {"rerank": 100}, 100, 256), "unknown search parameter"),
    (lambda: registry.get("bin_ivf").check_params({"nlist": 8}, {"nprobe": 0}, 100, 256), "nprobe must be an integer >= 1"),
    (lambda: registry.get("usearch_hamming").check_params({}, {"expansion_search": 0}, 100, 256), "must be an integer >= 1"),
    (lambda: registry.get("bin_hnsw").check_params({}, {"nprobe": 1}, 100, 256), "unknown search parameter"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(UserError, match=message):
        call()


@pytest.fixture(scope="module")
def files(tmp_path_factory, t2i_dataset):
    """The real float set and its 512-bit sign codes, written side by side."""
    root = tmp_path_factory.mktemp("bin")
    parent = write_dataset(t2i_dataset, root / "t2i.hdf5")
    return root, parent


def _sweep(root, *args):
    return run_cli("sweep", "--queries", "text", "--nq", "500", "--k", "10", "--min-time", "0.01",
                   "--threads", "1", *args, cwd=root)


def test_cli_binarize_then_sweep_binary_backends_with_rerank(files):
    root, parent = files
    r = run_cli("datasets", "--dir", str(root), "binarize", "t2i", "--method", "sign", cwd=root)
    assert r.returncode == 0, r.stderr
    r = _sweep(root, "--dataset", "t2i-sign512.hdf5", "--index", "bin_hnsw", "--M", "16", "--ef", "16,128",
               "--rerank", "0,100", "--save-neighbors", "--results", "res")
    assert r.returncode == 0, r.stderr
    (root / "sweep.yaml").write_text(yaml.safe_dump({
        "dataset": "t2i-sign512.hdf5", "queries": ["text"], "k": 10, "nq": [500], "min_time": 0.01,
        "threads": 1, "save_neighbors": True, "results": "res",
        "indexes": [{"index": "bin_flat", "rerank": [0, 100]},
                    {"index": "bin_ivf", "build": {"nlist": [16]}, "search": {"nprobe": [16]}}]}))
    r = run_cli("sweep", "--config", "sweep.yaml", cwd=root)
    assert r.returncode == 0, r.stderr
    r = _sweep(root, "--dataset", "t2i.hdf5", "--index", "flat", "--results", "res-float")
    assert r.returncode == 0, r.stderr

    df = load_results(root / "res")
    assert len(df) == 4 + 3 and (df["status"] == "ok").all()
    assert (df["vector_bytes"] == 64).all() and (df["d"] == 512).all() and (df["point_type"] == "bit").all()
    assert (df["bytes_per_vector"] == df["index_bytes"] / 1000).all()  # what each index stores per vector
    size = df.groupby("index")["bytes_per_vector"].first()
    assert 64 <= size["bin_flat"] < 65 and size["bin_hnsw"] > 64 + 16 * 4  # the graph's links count too
    flat = df[df["index"] == "bin_flat"].set_index("rerank")
    assert flat.loc[0, "recall"] == 1.0 and 0.2 < flat.loc[0, "recall_float"] < 0.4       # measured 0.276
    assert flat.loc[100, "recall_float"] > flat.loc[0, "recall_float"] + 0.3              # measured 0.732
    assert flat.loc[0, "rerank_bytes_per_vector"] == 0 and flat.loc[100, "rerank_bytes_per_vector"] == 2048
    best = df[(df["index"] == "bin_hnsw") & (df["search.ef"] == 128) & (df["rerank"] == 0)].iloc[0]
    assert best["recall_ties"] >= 0.95
    for rec in df.itertuples():
        ids = np.load(root / "res" / rec.neighbors_file)
        assert ids.shape == (2148, 10) and ids.dtype == np.int64
    fl = load_results(root / "res-float").iloc[0]
    assert 2048 <= fl["bytes_per_vector"] < 2049 and fl["recall_float"] == fl["recall"] == 1.0


def test_cli_jaccard_codes_with_tanimoto_indexes(files):
    root, _ = files
    r = run_cli("datasets", "--dir", str(root), "binarize", "t2i", "--method", "itq", "--bits", "128",
                "--distance", "jaccard", "--out", "t2i-itq128-jac.hdf5", cwd=root)
    assert r.returncode == 0, r.stderr
    (root / "jac.yaml").write_text(json.dumps({
        "dataset": "t2i-itq128-jac.hdf5", "k": 10, "nq": [500], "min_time": 0.01, "threads": 1,
        "results": "res-jac", "indexes": [{"index": "bin_jaccard_flat"},
                                          {"index": "usearch_tanimoto", "search": {"expansion_search": [128]}}]}))
    r = run_cli("sweep", "--config", "jac.yaml", cwd=root)
    assert r.returncode == 0, r.stderr
    df = load_results(root / "res-jac").set_index("index")
    assert df.loc["bin_jaccard_flat", "recall"] == 1.0 and df.loc["usearch_tanimoto", "recall_ties"] >= 0.95
    assert (df["vector_bytes"] == 16).all() and (df["metric"] == "jaccard").all()


def test_cli_sweep_on_an_ann_benchmarks_bit_file(files):
    """Unpacked booleans, no annbench group: swept as is; no float truth, and no parent to re-rank with."""
    root, _ = files
    rng = np.random.default_rng(2)
    train, test = rng.random((500, 96)) < 0.3, rng.random((30, 96)) < 0.3
    D, I = exact_binary_knn(np.packbits(train, axis=1), np.packbits(test, axis=1), 20, "jaccard")
    with h5py.File(root / "ab-jaccard.hdf5", "w") as f:
        f.attrs.update({"type": "dense", "distance": "jaccard", "dimension": 96, "point_type": "bit"})
        f["train"], f["test"], f["neighbors"], f["distances"] = train, test, I.astype(np.int32), D
    r = _sweep(root, "--dataset", "ab-jaccard.hdf5", "--queries", "test", "--index", "bin_jaccard_flat",
               "--nq", "30", "--results", "res-ab")
    assert r.returncode == 0, r.stderr
    rec = load_results(root / "res-ab").iloc[0]
    assert rec["recall"] == 1.0 and rec["recall_float"] is None and rec["vector_bytes"] == 12 and rec["d"] == 96
    r = _sweep(root, "--dataset", "ab-jaccard.hdf5", "--queries", "test", "--index", "bin_jaccard_flat",
               "--nq", "30", "--rerank", "10", "--results", "nothing")
    assert r.returncode == 2 and "no float parent recorded" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_sweep_refuses_mismatches_in_one_line(files, t2i_dataset):
    root, parent = files
    ds, truths = binarize(t2i_dataset, "lsh", 64)
    write_binary(ds, truths, t2i_dataset, parent, root / "orphan.hdf5")
    moved = write_dataset(t2i_dataset, root / "other" / "t2i.hdf5")
    write_binary(ds, truths, t2i_dataset, moved, root / "other" / "orphan.hdf5")
    moved.unlink()
    cases = [
        (["--dataset", "orphan.hdf5", "--index", "flat"], "index 'flat' searches angular/euclidean data"),
        (["--dataset", "orphan.hdf5", "--index", "bin_jaccard_flat"], "searches jaccard data, but dataset 'orphan' is hamming"),
        (["--dataset", "t2i.hdf5", "--index", "bin_flat"], "searches hamming data, but dataset 't2i' is angular"),
        (["--dataset", "other/orphan.hdf5", "--index", "bin_flat", "--rerank", "50"], "is gone (moved or deleted)"),
    ]
    for args, message in cases:
        r = _sweep(root, *args, "--results", "nothing")
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (root / "nothing").exists()

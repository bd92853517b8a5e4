"""The milvus backend on Milvus Lite: the real engine, in this process, no mock.

Each index type annbench names is built once (a Lite database starts per index, ~0.2 s) and
swept from its least to its most accurate search setting; what Milvus Lite cannot build is
skipped with the engine's reason. The contract every backend keeps is in test_backends.py.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from conftest import brute_force, run_cli

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from annbench import load_results  # noqa: E402
from annbench.backends.milvus_index import Milvus  # noqa: E402
from annbench.backends.milvus_params import TYPES  # noqa: E402
from annbench.backends.milvus_target import Target  # noqa: E402
from annbench.errors import Unsupported, UserError  # noqa: E402
from annbench.metrics import recall_strict  # noqa: E402

K = 10
IVF = [{"nprobe": 1}, {"nprobe": 4}, {"nprobe": 32}]
GRAPH = [{"ef": 10}, {"ef": 40}, {"ef": 200}]
# index type -> (build, search settings from the least to the most accurate, recall floor at the last)
SWEEPS = {
    "FLAT": ({}, [{}], 1.0),
    "IVF_FLAT": ({"nlist": 32}, IVF, 1.0),  # nprobe = nlist scans every cell: exact
    "IVF_SQ8": ({"nlist": 32}, IVF, 0.9),
    "IVF_PQ": ({"nlist": 32, "m": 8, "nbits": 8}, IVF, 0.5),
    "HNSW": ({"M": 8, "efConstruction": 64}, GRAPH, 0.95),
    "HNSW_SQ": ({"M": 8, "efConstruction": 64}, GRAPH, 0.9),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    xb, xq = rng.standard_normal((3000, 32)).astype(np.float32), rng.standard_normal((40, 32)).astype(np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    return xb, xq, brute_force(xb, xq, K, "angular")[1]


@pytest.fixture(scope="module")
def built(data):
    """index type -> its index on ``data``, built on first use and shared by the module's tests."""
    xb = data[0]
    cache: dict[str, Milvus | Unsupported] = {}

    def get(index_type: str) -> Milvus:
        if index_type not in cache:
            try:
                cache[index_type] = Milvus(xb.shape[1], "angular", "cpu", 2, index_type=index_type,
                                           **SWEEPS[index_type][0])
                cache[index_type].add(xb)
            except Unsupported as exc:
                cache[index_type] = exc
        if isinstance(cache[index_type], Unsupported):
            pytest.skip(str(cache[index_type]))
        return cache[index_type]

    yield get
    cache.clear()
    gc.collect()


def test_every_named_type_is_swept():
    assert set(SWEEPS) == set(TYPES)


@pytest.mark.parametrize("index_type", SWEEPS)
def test_recall_rises_with_the_search_setting(built, data, index_type):
    _, xq, gt = data
    index = built(index_type)
    recalls = []
    for search in SWEEPS[index_type][1]:
        index.set_search_params(**search)
        recalls.append(float(recall_strict(index.search(xq, K)[1], gt, K).mean()))
    assert recalls == sorted(recalls), recalls
    assert recalls[-1] >= SWEEPS[index_type][2], recalls
    if len(recalls) > 1:
        assert recalls[-1] > recalls[0], recalls


@pytest.mark.parametrize("metric", ["angular", "euclidean"])
def test_flat_is_exact(metric, unit_data):
    xb, xq = unit_data
    if metric == "euclidean":
        xb, xq = xb * 3.0, xq * 3.0
    index = Milvus(xb.shape[1], metric, "cpu", 2, index_type="FLAT")
    index.add(xb)
    _, I = index.search(xq, K)
    np.testing.assert_array_equal(I, brute_force(xb, xq, K, metric)[1])


def test_build_times_and_size_are_reported_apart(built, data):
    stats = built("FLAT").stats()
    assert {"insert_s", "index_build_s", "load_s"} <= set(stats) and "ndis" not in stats
    assert all(stats[k] > 0 for k in ("insert_s", "index_build_s", "load_s"))
    assert stats["index_bytes"] >= data[0].nbytes  # a flat index keeps every vector


def test_what_lite_cannot_build_is_refused_in_one_line_with_its_reason(data):
    xb = data[0][:500]
    try:
        Milvus(xb.shape[1], "angular", "cpu", 1, index_type="IVF_PQ", nlist=8, m=8).add(xb)
    except Unsupported as exc:
        assert "Milvus Lite" in str(exc) and "IVF_PQ" in str(exc) and "\n" not in str(exc)
    else:
        pytest.skip("this Milvus Lite builds IVF_PQ")


def test_the_collection_and_the_database_go_with_the_index(data):
    index = Milvus(32, "angular", "cpu", 1, index_type="FLAT")
    index.add(data[0][:100])
    folder = index._target.lite.folder.name
    assert os.path.isdir(folder)
    del index
    gc.collect()
    assert not os.path.exists(folder)


def test_a_leftover_annbench_collection_is_replaced_and_a_foreign_one_refused():
    target = Target("", "annbench_leftover")
    try:
        target.create(8)
        target.insert(np.ones((3, 8), dtype=np.float32))
        target.create(8)  # what an interrupted run left: replaced by an empty one
        assert target.client.get_collection_stats(target.name)["row_count"] == 0
        target.client.drop_collection(target.name)
        target.client.create_collection(target.name, dimension=8)  # someone else's, by the same name
        with pytest.raises(UserError, match="annbench did not make"):
            target.create(8)
        target.close()
        assert target.client is None
    finally:
        target.close()


@pytest.mark.parametrize("build,search,message", [
    ({"index_type": "BOGUS"}, {}, "unknown index_type 'BOGUS'"),
    ({"index_type": "hnsw"}, {}, "unknown index_type 'hnsw'"),
    ({"index_type": "IVF_FLAT", "M": 16}, {}, "M is not a build parameter of IVF_FLAT"),
    ({"index_type": "HNSW"}, {"nprobe": 8}, "nprobe is not a search parameter of HNSW"),
    ({"index_type": "IVF_FLAT", "nlist": 8}, {"nprobe": 9}, "nprobe=9 exceeds nlist=8"),
    ({"index_type": "IVF_PQ", "m": 7}, {}, "multiple of m=7"),
    ({"index_type": "HNSW", "M": 2.5}, {}, "M must be an integer"),
    ({"index_extra": "beam_width"}, {}, "name=value pairs"),
    ({"uri": "localhost:19530"}, {}, "uri must be http://HOST:PORT"),
    ({"uri": "http://127.0.0.1:1"}, {}, "no Milvus server answers at http://127.0.0.1:1"),
])
def test_bad_settings_are_one_line_user_errors(build, search, message):
    with pytest.raises(UserError, match=message) as err:
        Milvus.check_params(build, search, 1000, 32)
    assert "\n" not in str(err.value)


def test_other_types_go_to_a_server_by_name():
    Milvus.check_params({"index_type": "GPU_CAGRA", "index_extra": "graph_degree=32"}, {"search_extra": "itopk_size=64"},
                        1000, 32)  # no uri needed to check the names: they are the server's to judge


@pytest.mark.parametrize("args,message", [
    (["--uri", "http://127.0.0.1:1"], "no Milvus server answers at http://127.0.0.1:1"),
    (["--index-type", "IVF_FLAT", "--ef", "64"], "ef is not a search parameter of IVF_FLAT"),
])
def test_sweep_refuses_bad_milvus_input_in_one_line(tmp_path, t2i_file, args, message):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "milvus", *args, "--results", str(tmp_path / "res"))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "res").exists()


def test_a_sweep_gives_ordinary_records(tmp_path, t2i_file):
    """Through the ordinary runner: a worker process per build point, Milvus Lite inside it."""
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "milvus", "--index-type", "IVF_FLAT;IVF_PQ",
                "--nlist", "16", "--nprobe", "1,16", "--queries", "text", "--nq", "100", "--k", "10",
                "--min-time", "0.05", "--repeats", "1", "--results", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "res")
    ivf = df[df["build.index_type"] == "IVF_FLAT"].sort_values("search.nprobe")
    assert (ivf["status"] == "ok").all() and len(ivf) == 2
    assert ivf["recall"].iloc[1] > ivf["recall"].iloc[0] and ivf["recall"].iloc[1] == 1.0
    assert (ivf["qps"] > 0).all() and (ivf["index_bytes"] > 0).all() and ivf["ndis_per_query"].isna().all()
    assert (ivf["versions"].map(lambda v: v["pymilvus"]).str.startswith("pymilvus==")).all()
    for phase in ("insert_s", "index_build_s", "load_s"):  # timed apart by the backend, kept apart in records
        assert (ivf[phase] > 0).all(), phase
    assert np.allclose(ivf["add_s"], ivf["insert_s"] + ivf["index_build_s"] + ivf["load_s"], rtol=0.05, atol=0.05)
    assert "2 measured" in r.stdout and "0 failed, 2 skipped" in r.stdout, r.stdout
    pq = df[df["build.index_type"] == "IVF_PQ"]
    assert len(pq) == 2 and (pq["status"] == "skipped").all()
    assert pq["reason"].str.contains("Milvus Lite refused the index build (IVF_PQ)", regex=False).all()


# -- with uri: the server path, against Milvus Lite's own gRPC server in a process of its own ---------


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    """``python -m milvus_lite server``: not a Milvus server, but reached exactly as one (gRPC at a uri)."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("milvus-server")
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder / "db"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_uri_runs_the_same_code_on_a_server(server_uri, data):
    from pymilvus import MilvusClient

    xb, xq, gt = data
    index = Milvus(xb.shape[1], "angular", "cpu", 1, uri=server_uri, index_type="IVF_FLAT", nlist=32)
    index.add(xb)
    recalls = []
    for search in IVF:
        index.set_search_params(**search)
        recalls.append(float(recall_strict(index.search(xq, K)[1], gt, K).mean()))
    assert recalls == sorted(recalls) and recalls[-1] == 1.0 > recalls[0]
    stats = index.stats()
    assert "index_bytes" not in stats and stats["index_build_s"] > 0  # a server reports no index size
    viewer = MilvusClient(server_uri)
    assert viewer.list_collections() == [index._target.name]
    del index
    gc.collect()
    assert viewer.list_collections() == []  # dropped with the index
    with pytest.raises(UserError, match=f"{server_uri} refused the index build") as err:  # not Unsupported:
        Milvus(32, "angular", "cpu", 1, uri=server_uri, index_type="DISKANN").add(xb)  # the server's to judge
    assert not isinstance(err.value, Unsupported) and "\n" not in str(err.value)


def test_a_sweep_reaches_a_server_through_a_config(tmp_path, t2i_file, server_uri):
    (tmp_path / "milvus.yaml").write_text(
        f"indexes:\n  - index: milvus\n    build: {{uri: '{server_uri}', index_type: HNSW, M: 8}}\n"
        "    search: {ef: [10, 100]}\n")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--config", str(tmp_path / "milvus.yaml"), "--queries", "text",
                "--nq", "100", "--min-time", "0.05", "--repeats", "1", "--results", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "res").sort_values("search.ef")
    assert (df["status"] == "ok").all() and (df["build.uri"] == server_uri).all() and df["index_bytes"].isna().all()
    assert df["recall"].iloc[1] > df["recall"].iloc[0]

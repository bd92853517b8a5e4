"""Concurrent clients (--clients): the timing of a round under load, records, selection and report."""

import json
import threading

import numpy as np
import pytest
from conftest import run_cli

from annbench import load_results
from annbench.results.schema import KEY_FIELDS, point_id
from annbench.runner.clients import RULE, time_clients
from annbench.runner.timing import QueryOrder

ROUND_NS = 60_000_000


def _exact(xb):
    def search(xq, k):
        scores = xq @ xb.T
        ids = np.argsort(-scores, axis=1)[:, :k]
        return np.take_along_axis(scores, ids, 1), ids
    return search


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_a_round_pools_every_clients_batches(unit_data, mode):
    xb, xq = unit_data
    order = QueryOrder(xq, seed=0)
    rnd = time_clients(_exact(xb), order, nq=5, k=10, clients=3, round_ns=ROUND_NS, mode=mode)
    assert rnd.queries == rnd.batch_ns.size * 5 and rnd.batch_ns.size >= 3  # every client timed a batch at least
    assert (rnd.batch_ns > 0).all()
    assert rnd.wall_ns >= ROUND_NS  # each client stops at the first batch ending after the round's time
    assert rnd.wall_ns < ROUND_NS + 50 * rnd.batch_ns.max() + 1e9
    assert rnd.cpu_ns > 0 and rnd.qps == pytest.approx(rnd.queries / (rnd.wall_ns / 1e9))


def test_clients_start_apart_in_the_permutation(unit_data):
    """Client c starts c/C of the way through the seeded permutation, so clients never search in lockstep."""
    xb, xq = unit_data
    order = QueryOrder(xq, seed=3)
    firsts, lock = {}, threading.Lock()
    exact = _exact(xb)

    def search(batch, k):
        with lock:
            firsts.setdefault(threading.get_ident(), []).append(int(np.flatnonzero((xq == batch[0]).all(1))[0]))
        return exact(batch, k)

    time_clients(search, order, nq=1, k=10, clients=2, round_ns=ROUND_NS, mode="threads")
    starts = sorted(rows[1] for rows in firsts.values())  # [0] is each client's warm-up batch
    assert starts == sorted([int(order.order[0]), int(order.order[len(xq) // 2])])


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_a_failing_client_ends_the_round_with_its_reason(unit_data, mode):
    xb, xq = unit_data
    exact, calls = _exact(xb), []

    def search(batch, k):
        calls.append(1)
        if len(calls) > 3:
            raise ValueError("engine went away")
        return exact(batch, k)

    with pytest.raises(Exception, match="engine went away"):
        time_clients(search, QueryOrder(xq, 0), nq=1, k=10, clients=2, round_ns=ROUND_NS, mode=mode)


def test_a_key_without_clients_or_filter_keeps_its_id():
    key = {name: i for i, name in enumerate(KEY_FIELDS)}
    old = __import__("hashlib").sha1(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:20]
    assert point_id(key) == old == point_id({**key, "clients": None, "filter": None})
    assert point_id({**key, "clients": 4}) != old != point_id({**key, "clients": 1})


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, t2i_file):
    res = tmp_path_factory.mktemp("clients") / "res"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,16",
                "--nq", "1", "--queries", "text", "--min-time", "0.3", "--repeats", "2", "--results", str(res))
    assert r.returncode == 0, r.stderr
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,16",
                "--nq", "1", "--queries", "text", "--min-time", "0.3", "--repeats", "2", "--clients", "1,4",
                "--results", str(res))
    assert r.returncode == 0, r.stderr
    assert "4 measured" in r.stdout  # the clients-less points of the first sweep are other points
    return res


def test_library_records_under_load(loaded):
    df = load_results(loaded)
    under = df[df["clients"].notna()]
    assert sorted(under["clients"].astype(int)) == [1, 1, 4, 4]
    assert (under["threads"] == 1).all() and (under["clients_mode"] == "processes").all()
    assert (under["client_rule"] == RULE).all()
    for col in ("batch_p50_ms", "batch_p95_ms", "batch_p99_ms"):
        assert under[col].notna().all(), col  # thousands of single queries in 0.3 s
    assert (under["batch_p50_ms"] <= under["batch_p99_ms"]).all()
    # recall is the index's, whatever the load: the same as one caller's at the same setting
    plain = df[df["clients"].isna()].set_index("search_label")["recall_ties"]
    for _, r in under.iterrows():
        assert r["recall_ties"] == plain[r["search_label"]]
    assert (under["cpu_util"] > 0.5).all()


def test_summary_answers_best_under_a_p99_budget(loaded):
    df = load_results(loaded)
    under = df[df["clients"] == 4]
    cut = float(under["batch_p99_ms"].min()) * 1.0001  # only the setting with the lower p99 fits
    r = run_cli("summary", "--results", str(loaded), "--targets", "0.1", "--max-p99-ms", repr(cut))
    assert r.returncode == 0, r.stderr
    assert "/ 1 thread / 1 concurrent client   (" in r.stdout and "/ 1 thread / 4 concurrent clients   (" in r.stdout
    block = r.stdout.split("4 concurrent clients", 1)[1].split("\n\n", 1)[0]
    assert f"budget p99 <= {cut:g} ms" in block
    fastest = under.loc[under["batch_p99_ms"].idxmin()]
    assert f"{fastest['qps']:,.0f} QPS, p99 {fastest['batch_p99_ms']:,.2f} ms" in block
    assert fastest["search_label"] in block.split("fastest at recall >= 0.1:", 1)[1]
    # over every load: the 1-client points fit too, and the 4-client point is the faster
    pooled = r.stdout.split("== Under load: the highest throughput over every client count measured, within "
                            f"p99 <= {cut:g} ms ==", 1)[1]
    fits = df[(df["clients"] > 0) & (df["batch_p99_ms"] <= cut)]
    top = fits.loc[fits["qps"].idxmax()]
    assert f"{int(top['clients'])} client" in pooled and f"{top['qps']:,.0f} QPS" in pooled


def test_report_draws_the_latency_throughput_frontier(loaded, tmp_path):
    r = run_cli("report", "--results", str(loaded), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "Throughput vs p99 latency under load" in html and "under load (nq=1, k=10)" in html
    data = json.loads(html.split('<script id="chart-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    frontier = [c for c in data.values() if c["id"].endswith("-frontier")]
    assert len(frontier) == 1
    (line,) = frontier[0]["series"]
    assert [p["info"][2][1] for p in line["points"]] == ["1", "4"]  # through its client counts, in order
    # the sections compare one caller's points only
    assert all(not c["id"].startswith("load-") for c in data.values() if "recall-qps" in c["id"])


@pytest.mark.parametrize("args, message", [
    (["--clients", "1,4", "--threads", "2"], "with --clients every client searches single-threaded"),
    (["--clients", "0"], "clients must be an integer > 0"),
    (["--clients", "x"], "clients must be an integer > 0"),
    (["--clients", "1000"], "clients must be at most 256"),
])
def test_bad_clients_input_is_one_line(tmp_path, t2i_file, args, message):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", *args, "--results", str(tmp_path / "r"))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "r" / "records").exists()


def test_milvus_lite_under_load(tmp_path, t2i_file):
    pytest.importorskip("milvus_lite")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "milvus", "--index-type", "IVF_FLAT", "--nlist", "16",
                "--nprobe", "4", "--nq", "1", "--queries", "text", "--clients", "1,4", "--min-time", "0.3",
                "--repeats", "1", "--results", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "r")
    assert sorted(df["clients"].astype(int)) == [1, 4] and (df["status"] == "ok").all()
    assert (df["clients_mode"] == "threads").all()
    assert df["batch_p50_ms"].notna().all() and (df["queries_timed"] >= df["clients"]).all()
    assert df["recall_ties"].iloc[0] == df["recall_ties"].iloc[1] > 0.3

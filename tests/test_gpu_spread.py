"""GPU points spread over several GPUs (``--gpus N``, ``--gpu-mode``). Anywhere: their identity, the
command line's refusals, the skip rules (fed a GPU count), the backends' wiring with faiss's multi-GPU
cloner stood in by CPU IndexReplicas / IndexShards, and the summary keeping them apart from one-GPU
points. No test here needs a GPU: nothing of it has run on more than one."""

from __future__ import annotations

import hashlib
import json

import faiss
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from test_sweep_rules import _one_line_error

from annbench.backends import gpu_common, registry
from annbench.backends.gpu_common import missing_gpus, spread_refused
from annbench.errors import Unsupported
from annbench.results.schema import KEY_FIELDS, point_id
from annbench.runner.plan import BuildPoint, Plan, expand_index
from annbench.runner.sweep import _skip_reason

SPREAD = [(2, "replicate"), (2, "shard")]


# -- identity --------------------------------------------------------------------------------

def _keys(bp: BuildPoint) -> list[dict]:
    plan = Plan(dataset="x.hdf5", dataset_name="x", query_sets=["text"], k=10, nqs=[1], threads=2)
    return plan.keys(bp, "env-a", 10240)


def test_a_one_gpu_point_keeps_its_id_and_a_spread_one_is_new():
    one, = _keys(BuildPoint("flat", {}, [{}], "gpu"))
    assert (one["gpus"], one["gpu_mode"]) == (None, None)
    old = {k: one[k] for k in KEY_FIELDS} | {"clients": None, "filter": None}
    before = {k: v for k, v in old.items() if v is not None}  # the id as it was before --gpus existed
    digest = hashlib.sha1(json.dumps(before, sort_keys=True, separators=(",", ":"), default=str).encode())
    assert point_id(one) == point_id(old) == digest.hexdigest()[:20]
    ids = {point_id(_keys(BuildPoint("flat", {}, [{}], "gpu", gpus=n, gpu_mode=m))[0]) for n, m in SPREAD}
    assert len(ids) == 2 and point_id(one) not in ids  # 2 GPUs is another point; replicate and shard too


def test_gpu_counts_and_modes_are_crossed_with_gpu_devices_only():
    bps = expand_index("flat", {}, {}, ["cpu", "gpu"], 1000, 32, gpus=[1, 2], gpu_modes=["replicate", "shard"])
    assert [(bp.device, bp.gpus, bp.gpu_mode) for bp in bps] == [
        ("cpu", 1, None), ("gpu", 1, None), ("gpu", 2, "replicate"), ("gpu", 2, "shard")]
    assert bps[2].spec() == {"index": "flat", "build": {}, "device": "gpu", "gpus": 2, "gpu_mode": "replicate"}


# -- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--device", "cpu", "--gpus", "2"], "--gpus spread GPU points over GPUs: give --device gpu"),
    (["--device", "gpu", "--gpus", "0"], "gpus must be an integer > 0, got 0"),
    (["--device", "gpu", "--gpus", "-1"], "gpus must be an integer > 0, got -1"),
    (["--device", "gpu", "--gpus", "2", "--gpu-mode", "mirror"], "unknown gpu mode 'mirror' (use replicate, shard)"),
    (["--device", "gpu", "--gpu-mode", "shard"], "--gpu-mode says how a point spreads over --gpus N > 1"),
])
def test_bad_gpu_options_are_one_line(tmp_path, t2i_file, args, message):
    res = tmp_path / "r"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--nq", "10", *args, "--results", str(res))
    _one_line_error(r, message)
    assert not res.exists()


# -- skipped where it cannot run -------------------------------------------------------------

def test_the_gpu_count_rule():
    assert missing_gpus(1, 0) == missing_gpus(2, 0) == "skipped: no GPU"
    assert missing_gpus(2, 1) == "skipped: needs 2 GPUs, faiss sees 1"
    assert missing_gpus(2, 2) is None and missing_gpus(1, 1) is None


def test_the_sweep_skips_what_the_gpus_seen_cannot_run():
    flat2 = BuildPoint("flat", {}, [{}], "gpu", gpus=2, gpu_mode="replicate")
    assert _skip_reason(flat2, gpus_seen=0) == "skipped: no GPU"
    assert _skip_reason(flat2, gpus_seen=1) == "skipped: needs 2 GPUs, faiss sees 1"
    assert _skip_reason(flat2, gpus_seen=4) is None
    assert _skip_reason(BuildPoint("flat", {}, [{}], "gpu"), gpus_seen=1) is None
    assert _skip_reason(BuildPoint("flat", {}, [{}], "cpu"), gpus_seen=0) is None
    for name in ("cagra", "ivf_sq8h"):  # faiss's multi-GPU cloner takes neither
        bp = BuildPoint(name, {}, [{}], "gpu", gpus=2, gpu_mode="replicate")
        assert _skip_reason(bp, gpus_seen=2) == f"skipped: {name} runs on one GPU only " \
                                                "(faiss spreads flat and IVF indexes wholly on the GPU)"
    shard = BuildPoint("flat", {}, [{}], "gpu", gpus=2, gpu_mode="shard")
    assert _skip_reason(shard, gpus_seen=2) == "skipped: flat spreads over GPUs as replicate only, not shard"


def test_which_backends_spread_and_how():
    for name in ("ivf_flat", "ivf_sq8", "ivf_pq"):
        assert all(spread_refused(registry.get(name), n, m) is None for n, m in SPREAD)
    assert spread_refused(registry.get("flat"), 2, "replicate") is None
    assert spread_refused(registry.get("hnsw"), 2, "replicate")  # no GPU variant at all: one GPU at most
    with pytest.raises(Unsupported, match="^skipped: flat spreads over GPUs as replicate only, not shard"):
        registry.get("flat")(32, "euclidean", "gpu", 1, gpus=2, gpu_mode="shard")


def test_a_sweep_asking_for_more_gpus_than_faiss_sees_records_the_reason(tmp_path, t2i_file, monkeypatch):
    from annbench.cli.main import main
    from annbench.results.frame import load_results
    from annbench.runner import identity

    monkeypatch.setattr(identity, "gpus", lambda: ("Fake GPU, 1000 MiB",))
    res = tmp_path / "res"
    assert main(["sweep", "--dataset", str(t2i_file), "--index", "flat", "--device", "gpu", "--gpus", "2",
                 "--gpu-mode", "replicate,shard", "--nq", "10", "--queries", "text", "--results", str(res)]) == 0
    df = load_results(res).set_index("gpu_mode")
    assert len(df) == 2 and df["id"].is_unique and set(df["gpus"]) == {2} and set(df["status"]) == {"skipped"}
    assert df.loc["replicate", "reason"] == "skipped: needs 2 GPUs, faiss sees 1"
    assert df.loc["shard", "reason"] == "skipped: flat spreads over GPUs as replicate only, not shard"


# -- the backends spread, faiss's multi-GPU cloner stood in by CPU replicas and shards ---------

@pytest.fixture
def spread_on_cpu(monkeypatch):
    """GPUs stood in by CPU clones: ``to_gpus`` runs with faiss's multi-GPU cloner replaced by one that
    makes IndexReplicas / IndexShards of CPU clones of the empty index, as faiss makes them of GPU ones
    (flat shards with successive ids)."""
    kept = []

    class Options:
        shard, use_cuvs = False, True

    def multiple(resources, index, options, devices):
        members = [faiss.clone_index(index) for _ in devices]
        spread = faiss.IndexShards(index.d, True, isinstance(index, faiss.IndexFlat)) if options.shard \
            else faiss.IndexReplicas()
        for member in members:
            spread.addIndex(member)
        kept.append((spread, members))  # the members live as long as the test
        return spread

    def to_host(index):
        """One host index, as faiss's cloner makes it: a replica, or the shards merged (ids kept)."""
        parts = [faiss.clone_index(m) for m in gpu_common.members(index)]
        for part in parts[1:] if isinstance(index, faiss.IndexShards) else []:
            parts[0].merge_from(part, 0)
        return parts[0]

    monkeypatch.setattr(gpu_common, "require_gpu", lambda cls, gpus=1, mode=None: None)
    monkeypatch.setattr(gpu_common, "resources", lambda device=0: None)
    monkeypatch.setattr(gpu_common, "to_gpu", faiss.clone_index)
    monkeypatch.setattr(gpu_common, "to_host", to_host)
    monkeypatch.setattr(faiss, "GpuMultipleClonerOptions", Options, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_gpu_multiple_py", multiple)
    return kept


@pytest.mark.parametrize("name, build, search, gpus, mode", [
    ("flat", {}, {}, 2, "replicate"),
    ("ivf_flat", {"nlist": 16}, {"nprobe": 4}, 2, "replicate"), ("ivf_flat", {"nlist": 16}, {"nprobe": 4}, 3, "shard"),
    ("ivf_sq8", {"nlist": 16}, {"nprobe": 4}, 2, "shard"),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6}, {"nprobe": 4}, 2, "replicate"),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6}, {"nprobe": 4}, 2, "shard"),
])
def test_a_spread_index_finds_what_the_one_gpu_index_finds(spread_on_cpu, name, build, search, gpus, mode):
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((3000, 32)).astype(np.float32)
    out = {}
    for spread in ((1, None), (gpus, mode)):
        index = registry.get(name)(32, "euclidean", "gpu", 1, **build, **dict(zip(("gpus", "gpu_mode"), spread)))
        index.train(xb[:2000])
        for part in (xb[:1700], xb[1700:]):  # the runner adds the base in chunks
            index.add(part)
        index.set_search_params(**search)
        out[spread] = index.search(xb[:40], 10), index.stats(), index
    (D1, I1), stats1, _ = out[1, None]
    (D, I), stats, spread = out[gpus, mode]
    members = gpu_common.members(spread.index)
    assert len(members) == gpus and spread.index.ntotal == len(xb)
    assert sum(m.ntotal for m in members) == len(xb) * (gpus if mode == "replicate" else 1)
    if search:  # every member probes as many lists as asked
        assert {m.nprobe for m in members} == {search["nprobe"]}
    assert np.array_equal(I, I1) and np.allclose(D, D1, rtol=1e-5)
    assert stats["index_bytes"] == stats1["index_bytes"] and "from_host_s" in stats


# -- summary: never mixed with one-GPU points ----------------------------------------------------

def _row(device, qps, gpus=None, mode=None):
    return {"dataset": "clip-synth", "query_set": "text", "k": 10, "index": "ivf_flat", "device": device,
            "build_label": "nlist=1024", "search_label": "nprobe=8", "nq": 1000, "qps": qps, "recall_ties": 0.95,
            "status": "ok", "threads": 2, "gpus": gpus, "gpu_mode": mode,
            "gpu_model": None if device == "cpu" else "Fake GPU", "id": f"{device}-{gpus}-{mode}"}


def test_points_on_two_gpus_are_kept_apart_from_one_gpu_points():
    from annbench.results.crossover import crossover
    from annbench.results.gpu_figures import gpu_lines
    from annbench.results.select import GROUP, best, comparable
    from annbench.results.summary import format_summary

    df = pd.DataFrame([_row("cpu", 10000.0), _row("gpu", 50000.0), _row("gpu", 90000.0, 2, "replicate"),
                       _row("gpu", 60000.0, 2, "shard")])
    assert comparable(df).groupby(GROUP).ngroups == 4
    won = best(df, 0.9, "recall_ties").set_index("device")["qps"].to_dict()
    assert won == {"cpu": 10000.0, "gpu": 50000.0, "gpu x2 replicate": 90000.0, "gpu x2 shard": 60000.0}
    pairs = crossover(df)
    assert len(pairs) == 1 and pairs.iloc[0]["speedup_at_max_nq"] == 5.0  # CPU against the one-GPU point only
    lines = gpu_lines(comparable(df))
    assert len(lines) == 4 and sum("[gpu x2 replicate]" in line for line in lines) == 1
    text = format_summary(df)
    for device in ("cpu", "gpu", "gpu x2 replicate", "gpu x2 shard"):
        assert f"/ text queries / {device} / nq=1000 /" in text


def test_the_report_draws_points_on_two_gpus_as_a_series_of_their_own():
    from annbench.report.load import _normalise
    from annbench.report.recommend import series_name

    rows = _normalise(pd.DataFrame([_row("gpu", 50000.0), _row("gpu", 90000.0, 2, "replicate")]))
    assert sorted({series_name(i, d) for i, d in zip(rows["index"], rows["device"])}) == [
        "ivf_flat [gpu x2 replicate]", "ivf_flat [gpu]"]


def test_the_runner_records_a_point_spread_over_two_gpus(tmp_path, t2i_file, monkeypatch, spread_on_cpu):
    from test_gpu_runner import _InProcess

    from annbench.cli.main import main
    from annbench.results.frame import load_results
    from annbench.runner import gpu_side, identity, sweep

    monkeypatch.setattr(identity, "gpus", lambda: ("Fake GPU, 1000 MiB", "Fake GPU, 1000 MiB"))
    monkeypatch.setattr(gpu_side, "device_reader", lambda gpus: (lambda: (100, 200, 300)[:gpus], "fake"))
    monkeypatch.setattr(sweep, "LocalExecutor", _InProcess)
    res = tmp_path / "res"
    assert main(["sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16", "--nprobe", "4",
                 "--device", "gpu", "--gpus", "1,2", "--gpu-mode", "shard", "--nq", "100", "--queries", "text",
                 "--min-time", "0.02", "--repeats", "1", "--results", str(res)]) == 0
    df = load_results(res)
    assert set(df["status"]) == {"ok"} and len(df) == 2
    one, two = (df[df["gpus_used"] == n].iloc[0] for n in (1, 2))
    assert pd.isna(one["gpus"]) and pd.isna(one["gpu_mode"]) and (two["gpus"], two["gpu_mode"]) == (2, "shard")
    assert one["gpu_model"] == two["gpu_model"] == "Fake GPU, 1000 MiB"
    assert two["gpu_index_bytes_per_device"] == [0, 0] and one["gpu_index_bytes_per_device"] == [0]
    assert two["gpu_peak_search_bytes"] == 0 and len(two["gpu_peak_search_bytes_per_device"]) == 2
    assert two["recall_ties"] == one["recall_ties"]  # the same lists probed, on one GPU or split over two
    assert pd.isna(two.get("device_qps"))  # a spread index splits and merges on the host: no device-only time

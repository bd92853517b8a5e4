"""GPU backends (issue 15). Anywhere: registered, listed, refusing bad settings in one line, skipped
without a GPU, and wired like their CPU index (faiss-gpu stood in by CPU clones). The tests marked
``gpu`` run only where faiss sees a GPU (conftest skips them elsewhere): GPU results against the
CPU's, on CLIP-like data made in the test (../shared does not travel to a GPU machine)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli
from test_sweep_rules import _one_line_error

from annbench.backends import registry
from annbench.backends.gpu_common import gpu_count, on_device
from annbench.errors import Unsupported, UserError
from annbench.runner.gpu_timing import takes_device_arrays

GPU_VARIANTS = ("flat", "ivf_flat", "ivf_sq8", "ivf_pq", "cagra", "ivf_sq8h")
NO_GPU = gpu_count() == 0


# -- registered, listed, refused -------------------------------------------------------------

def test_every_gpu_variant_is_registered_and_listed():
    for name in GPU_VARIANTS:
        assert "gpu" in registry.get(name).devices, name
    r = run_cli("indexes")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    for name in GPU_VARIANTS:
        assert "cpu,gpu" in lines[name], lines[name]
    assert "graph_degree=64, intermediate_graph_degree=128" in lines["cagra"]
    assert "itopk_size=64, search_width=1" in lines["cagra"]


def test_device_resident_search_is_declared_where_the_whole_index_is_on_the_gpu():
    assert takes_device_arrays(registry.get("ivf_flat"), "gpu")
    assert not takes_device_arrays(registry.get("ivf_flat"), "cpu")
    assert not takes_device_arrays(registry.get("ivf_sq8h"), "gpu")  # its lists are on the host
    assert not takes_device_arrays(registry.get("hnsw"), "gpu")      # absent: none


@pytest.mark.parametrize("build, search, message", [
    ({"graph_degree": 64, "intermediate_graph_degree": 32}, {}, "graph_degree=64 exceeds intermediate_graph_degree=32"),
    ({"intermediate_graph_degree": 512}, {}, "intermediate_graph_degree=512 needs more than 512 base vectors"),
    ({"graph_degree": 0}, {}, "graph_degree must be an integer >= 1"),
    ({}, {"itopk_size": 1.5}, "itopk_size must be an integer >= 1"),
    ({}, {"ef": 10}, "cagra: unknown search parameter(s) ef"),
])
def test_cagra_refuses_bad_settings(build, search, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.get("cagra").check_params(build, search, nb=500, d=32)


def test_ivf_sq8h_refuses_what_every_ivf_refuses():
    with pytest.raises(UserError, match="ivf_sq8h: nprobe=9 exceeds nlist=8"):
        registry.get("ivf_sq8h").check_params({"nlist": 8}, {"nprobe": 9}, nb=500, d=32)


def test_a_bad_gpu_setting_is_one_line_from_the_sweep(tmp_path, t2i_file):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "cagra", "--graph_degree", "64",
                "--intermediate_graph_degree", "32", "--device", "gpu", "--nq", "10", "--results", str(tmp_path / "r"))
    _one_line_error(r, "graph_degree=64 exceeds intermediate_graph_degree=32")


def test_clients_on_a_gpu_are_refused(tmp_path, t2i_file):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--device", "cpu,gpu", "--clients", "2",
                "--nq", "10", "--results", str(tmp_path / "r"))
    _one_line_error(r, "--clients runs on the CPU only")


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
@pytest.mark.parametrize("name, device", [("flat", "gpu"), ("ivf_flat", "gpu"), ("ivf_pq", "gpu"),
                                          ("cagra", "gpu"), ("cagra", "cpu"), ("ivf_sq8h", "gpu")])
def test_without_a_gpu_a_gpu_build_is_skipped_not_failed(name, device):
    with pytest.raises(Unsupported, match="^skipped: no GPU"):
        registry.get(name)(64, "angular", device, 1)


def test_ivf_sq8h_on_the_cpu_is_ivf_sq8():
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((2000, 32)).astype(np.float32)
    out = []
    for name in ("ivf_sq8", "ivf_sq8h"):
        index = registry.get(name)(32, "euclidean", "cpu", 1, nlist=16)
        index.train(xb)
        index.add(xb)
        index.set_search_params(nprobe=4)
        out.append(index.search(xb[:50], 10))
    assert np.array_equal(out[0][1], out[1][1])


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_gpu_points_are_skipped_and_cpu_points_measured_without_a_gpu(tmp_path, t2i_file):
    cfg = tmp_path / "gpu.yaml"
    cfg.write_text("queries: [text]\nnq: [10]\ndevice: [cpu, gpu]\nmin_time: 0.02\nrepeats: 1\nmin_batches: 1\n"
                   "indexes:\n  - index: flat\n  - index: ivf_sq8h\n    build: {nlist: [8]}\n    search: {nprobe: [2]}\n"
                   "  - index: cagra\n    build: {graph_degree: [16], intermediate_graph_degree: [32]}\n")
    res = tmp_path / "res"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--config", str(cfg), "--results", str(res))
    assert r.returncode == 0, r.stderr
    records = [json.loads(p.read_text()) for p in (res / "records").glob("*.json")]
    by = {(rec["index"], rec["device"]): rec for rec in records}
    assert len(by) == 6
    for name in ("flat", "ivf_sq8h", "cagra"):
        assert (by[name, "gpu"]["status"], by[name, "gpu"]["reason"]) == ("skipped", "skipped: no GPU")
    assert by["cagra", "cpu"]["status"] == "skipped" and by["cagra", "cpu"]["reason"].startswith("skipped: no GPU")
    assert by["flat", "cpu"]["status"] == by["ivf_sq8h", "cpu"]["status"] == "ok"
    assert "gpu_index_bytes" not in by["flat", "cpu"] and "device_qps" not in by["flat", "cpu"]
    summary = run_cli("summary", "--results", str(res))
    assert summary.returncode == 0, summary.stderr
    assert "  flat: skipped: no GPU (1 point)" in summary.stdout and "skipped: skipped" not in summary.stdout


def test_the_gpu_config_is_the_sweep_of_the_issue():
    from annbench.runner.config import load_config

    cfg = load_config("annbench/configs/gpu.yaml")
    assert cfg["nq"] == [1, 10, 100, 1000, 10000] and cfg["device"] == ["gpu", "cpu"]
    assert [e["index"] for e in cfg["indexes"]] == ["ivf_flat", "ivf_sq8h", "cagra", "flat"]
    assert len(cfg["indexes"][0]["search"]["nprobe"]) > 1
    for entry in cfg["indexes"]:
        registry.get(entry["index"]).check_params({k: v[0] for k, v in entry.get("build", {}).items()},
                                                  {k: v[0] for k, v in entry.get("search", {}).items()},
                                                  nb=1_000_000, d=512)


@pytest.fixture
def clone_gpu(monkeypatch):
    """faiss-gpu stood in by CPU clones: the backends' GPU wiring (what moves where, when, and what
    stats() reports) runs here; faiss's GPU classes themselves do not."""
    import faiss

    from annbench.backends import gpu_common

    monkeypatch.setattr(gpu_common, "require_gpu", lambda cls, gpus=1, mode=None: None)
    monkeypatch.setattr(gpu_common, "to_gpu", faiss.clone_index)
    monkeypatch.setattr(gpu_common, "to_host", faiss.clone_index)


@pytest.mark.parametrize("name, build, search", [
    ("flat", {}, {}), ("ivf_flat", {"nlist": 16}, {"nprobe": 4}), ("ivf_sq8", {"nlist": 16}, {"nprobe": 4}),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6}, {"nprobe": 4}), ("ivf_sq8h", {"nlist": 16}, {"nprobe": 4}),
])
def test_gpu_variants_are_wired_like_their_cpu_index(clone_gpu, name, build, search):
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((3000, 32)).astype(np.float32)
    out = {}
    for device in ("cpu", "gpu"):
        index = registry.get(name)(32, "euclidean", device, 1, **build)
        index.train(xb[:2000])
        index.add(xb)
        index.set_search_params(**search)
        out[device] = (index.search(xb[:40], 10), index.stats())
    assert np.array_equal(out["cpu"][0][1], out["gpu"][0][1])
    stats = out["gpu"][1]
    assert stats["index_bytes"] == out["cpu"][1]["index_bytes"]
    copies = name != "ivf_sq8h"  # the hybrid keeps its lists on the host: nothing to copy back
    assert ("to_host_s" in stats and "from_host_s" in stats) == copies
    assert ("ndis" in stats) == (name in ("flat", "ivf_sq8h"))  # faiss's GPU IVF search keeps no counter
    if name == "ivf_sq8h":  # one call of the GPU quantizer per batch, never one per OpenMP thread
        assert index.index.parallel_mode == 3 and index.index.quantizer.ntotal == 16


def test_scalar_quantised_lists_go_to_faiss_own_gpu_code_not_cuvs():
    import faiss

    from annbench.backends.gpu_common import without_cuvs

    flat = faiss.IndexFlat(16, faiss.METRIC_INNER_PRODUCT)
    sq8 = faiss.IndexIVFScalarQuantizer(flat, 16, 4, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    assert without_cuvs(sq8)
    assert not without_cuvs(flat) and not without_cuvs(faiss.IndexIVFFlat(flat, 16, 4))
    assert not without_cuvs(faiss.IndexIVFPQ(flat, 16, 4, 4, 4))


def test_ivf_pq_with_a_cpu_rerank_is_no_gpu_index(clone_gpu):
    with pytest.raises(Unsupported, match="k_factor=10 re-ranks on the CPU"):
        registry.get("ivf_pq")(32, "angular", "gpu", 1, m=8, k_factor=10)


def test_host_arrays_are_not_device_arrays():
    assert not on_device(np.zeros(3))


# -- on a GPU --------------------------------------------------------------------------------

def _clip_like(n: int = 20000, nq: int = 200):
    from annbench.data.synth import sample_clip_synth

    xb, xq, _ = sample_clip_synth(n, nq, d=128, seed=1)
    return xb, xq


def _built(name: str, device: str, xb: np.ndarray, build: dict, search: dict):
    index = registry.get(name)(xb.shape[1], "angular", device, 4, **build)
    index.train(xb)
    index.add(xb)
    index.set_search_params(**search)
    return index


def _recall(I: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / k for a, b in zip(I, truth)]))


@pytest.fixture(scope="module")
def clip_gpu():
    from annbench.groundtruth import exact_knn

    xb, xq = _clip_like()
    _, truth = exact_knn(xb, xq, 10, "angular", use_gpu=False)
    return xb, xq, truth


@pytest.mark.gpu
def test_gpu_ground_truth_is_the_cpu_ground_truth(clip_gpu):
    from annbench.groundtruth import exact_knn

    xb, xq, _ = clip_gpu
    D_gpu, I_gpu = exact_knn(xb, xq, 50, "angular", use_gpu=True)
    D_cpu, I_cpu = exact_knn(xb, xq, 50, "angular", use_gpu=False)
    assert np.abs(D_gpu - D_cpu).max() < 1e-6
    assert _recall(I_gpu, I_cpu, 50) > 0.999  # equal but for exact ties


@pytest.mark.gpu
@pytest.mark.parametrize("name, build, search, tolerance", [
    ("flat", {}, {}, 0.005),
    ("ivf_flat", {"nlist": 128}, {"nprobe": 32}, 0.03),  # k-means differs between devices: recall within noise
    ("ivf_sq8", {"nlist": 128}, {"nprobe": 32}, 0.03),
    ("ivf_sq8h", {"nlist": 128}, {"nprobe": 32}, 0.03),
])
def test_gpu_recall_matches_the_cpu_at_equal_settings(clip_gpu, name, build, search, tolerance):
    xb, xq, truth = clip_gpu
    recalls = {dev: _recall(_built(name, dev, xb, build, search).search(xq, 10)[1], truth) for dev in ("cpu", "gpu")}
    assert abs(recalls["gpu"] - recalls["cpu"]) <= tolerance, recalls


@pytest.mark.gpu
def test_cagra_recall_rises_with_itopk_on_gpu_and_cpu(clip_gpu):
    xb, xq, truth = clip_gpu
    for device in ("gpu", "cpu"):
        index = _built("cagra", device, xb, {"graph_degree": 32, "intermediate_graph_degree": 64}, {})
        recalls = []
        for itopk in (16, 64, 256):
            index.set_search_params(itopk_size=itopk)
            recalls.append(_recall(index.search(xq, 10)[1], truth))
        assert recalls[0] <= recalls[1] + 0.005 <= recalls[2] + 0.01 and recalls[2] > 0.85, (device, recalls)


@pytest.mark.gpu
def test_device_resident_search_returns_the_host_results(clip_gpu):
    torch = pytest.importorskip("torch")
    xb, xq, _ = clip_gpu
    for name, build in (("flat", {}), ("ivf_flat", {"nlist": 64}), ("cagra", {})):
        index = _built(name, "gpu", xb, build, {})
        D, I = index.search(torch.from_numpy(xq).cuda(), 10)
        assert D.is_cuda and I.is_cuda
        assert np.array_equal(I.cpu().numpy(), index.search(xq, 10)[1]), name


@pytest.mark.gpu
def test_a_gpu_sweep_records_the_gpu_and_both_times(tmp_path):
    res, data = tmp_path / "res", tmp_path / "synth.hdf5"  # made here: ../shared does not travel to a GPU machine
    r = run_cli("datasets", "make", "clip-synth", "--n", "5000", "--nq", "200", "--out", str(data))
    assert r.returncode == 0, r.stderr
    r = run_cli("sweep", "--dataset", str(data), "--index", "flat", "--device", "cpu,gpu", "--nq", "1,100",
                "--queries", "text", "--min-time", "0.05", "--repeats", "2", "--results", str(res))
    assert r.returncode == 0, r.stderr
    records = [json.loads(p.read_text()) for p in (res / "records").glob("*.json")]
    gpu = [rec for rec in records if rec["device"] == "gpu"]
    assert len(gpu) == 2 and all(rec["status"] == "ok" for rec in gpu), gpu
    for rec in gpu:
        assert rec["gpu_model"] and rec["qps"] > 0 and rec["recall_ties"] == 1.0
        assert rec["gpu_index_bytes"] is None or rec["gpu_index_bytes"] >= 0
        assert rec["device_qps"] is None or rec["device_qps"] >= rec["qps"] * 0.5
    r = run_cli("summary", "--results", str(res))
    assert "GPU vs CPU" in r.stdout

"""The runner's GPU side (issue 15) as pure logic on real rounds: synchronised searches, device-only
rounds beside end-to-end ones and their split, GPU memory figures from used device memory, the whole
worker path with a GPU faked in this process, and the summary's GPU lines."""

from __future__ import annotations

import time

import numpy as np
import pytest

from annbench.runner.gpu_memory import GpuMemory, per_device_fields
from annbench.runner.gpu_side import GpuPart
from annbench.runner.gpu_timing import DeviceOrder, device_fields, device_round, synced
from annbench.runner.timing import QueryOrder, TimingRule, time_round


class _Clock:
    """A clock that a search moves forward by a set number of nanoseconds."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_synced_search_waits_for_the_device_before_returning():
    calls = []
    search = synced(lambda xq, k: calls.append("search") or (None, None), lambda: calls.append("sync"))
    search(np.zeros((2, 4), np.float32), 1)
    assert calls == ["search", "sync"]


def test_device_batches_are_the_host_batches():
    xq = np.arange(70, dtype=np.float32).reshape(35, 2)
    order = QueryOrder(xq, seed=3)
    dev = DeviceOrder(order, upload=lambda x: x.copy())  # a host "device": the same rows, another buffer
    for i in range(5):
        assert np.array_equal(dev.batch(i, 8), order.batch(i, 8))
    assert np.array_equal(dev.warmup(8), order.warmup(8))
    assert dev.rows is not order.rows


def test_device_fields_split_end_to_end_from_device_time():
    clock = _Clock()

    def search(cost_ns):
        def run(xq, k):
            clock.now += cost_ns * len(xq)
            return np.zeros((len(xq), k)), np.zeros((len(xq), k), dtype=np.int64)
        return run
    order = QueryOrder(np.zeros((100, 4), np.float32), seed=0)
    rule = TimingRule(min_time_s=0.003, repeats=3, min_batches=3)
    e2e = [time_round(search(4000), order, 10, 5, rule, clock=clock, cpu_clock=clock) for _ in range(3)]
    dev = [time_round(search(1000), order, 10, 5, rule, clock=clock, cpu_clock=clock) for _ in range(3)]
    qps = float(np.median([r.qps for r in e2e]))
    fields = device_fields(dev, qps)
    assert fields["device_qps"] == pytest.approx(1e6) and qps == pytest.approx(2.5e5)
    assert fields["device_share"] == pytest.approx(0.25)  # the GPU's own work is a quarter of the batch time
    assert fields["device_batch_p50_ms"] == pytest.approx(0.01)
    assert device_fields([], qps)["device_qps"] is None


def test_a_device_round_is_timed_after_a_sync():
    order = QueryOrder(np.ones((40, 4), np.float32), seed=0)
    events = []
    search = lambda xq, k: events.append("search") or (np.zeros((len(xq), k)), np.zeros((len(xq), k), np.int64))
    rnd = device_round(search, DeviceOrder(order, np.copy), 10, 3, TimingRule(0.0001, 1, 2), lambda: events.append("sync"))
    assert events[0] == "sync" and events[1:3] == ["search", "sync"]  # no queued work before the first timer
    assert rnd.searched == rnd.queries + 10 and rnd.queries % 10 == 0  # the warm-up batch, then whole batches


def test_gpu_memory_figures_from_used_device_memory():
    used = iter([(1000,), (5000,), (5000,), (6000,)])  # baseline, after build, reset, at peak()
    meter = GpuMemory(lambda: next(used), "test", interval_s=3600)
    meter.baseline()
    assert meter.index_bytes() == (4000,)
    meter.reset()
    meter._max = (9000,)  # a spike, as the sampling thread would have seen it
    assert meter.peak() == (8000,)  # the spike, above the baseline
    meter.close()
    assert per_device_fields("gpu_index_bytes", (4000,)) == {"gpu_index_bytes": 4000,
                                                             "gpu_index_bytes_per_device": [4000]}
    assert per_device_fields("gpu_peak_search_bytes", None) == {"gpu_peak_search_bytes": None,
                                                                "gpu_peak_search_bytes_per_device": None}
    assert "test" in meter.method


def test_the_memory_of_several_gpus_is_read_apart_and_summed():
    used = iter([(1000, 2000), (5000, 2500), (5000, 2500), (7000, 2500)])  # baseline, built, reset, at peak()
    meter = GpuMemory(lambda: next(used), "test", interval_s=3600)
    meter.baseline()
    assert meter.index_bytes() == (4000, 500)
    meter.reset()
    meter._max = (5000, 9000)  # GPU 1's spike, sampled while GPU 0 was still low
    assert meter.peak() == (6000, 7000)  # each GPU's own most, above its own baseline
    meter.close()
    assert per_device_fields("gpu_peak_search_bytes", (6000, 7000)) == {
        "gpu_peak_search_bytes": 13000, "gpu_peak_search_bytes_per_device": [6000, 7000]}


def test_the_sampler_catches_a_peak_between_reads():
    level = [0]
    meter = GpuMemory(lambda: (level[0],), "test", interval_s=0.001)
    meter.baseline()
    meter.reset()
    level[0] = 700
    time.sleep(0.05)
    level[0] = 100
    assert meter.peak() == (700,)
    meter.close()


def test_without_a_reader_there_are_no_gpu_memory_figures():
    meter = GpuMemory(None)
    meter.baseline()
    meter.reset()
    assert meter.index_bytes() is None and meter.peak() is None and meter.method is None


def test_a_gpu_part_adds_device_rounds_and_counts_their_searches():
    class Side:
        memory = GpuMemory(lambda: (0,), "test", interval_s=3600)
        sync = staticmethod(lambda: None)

    order = QueryOrder(np.ones((30, 4), np.float32), seed=0)
    search = lambda xq, k: (np.zeros((len(xq), k)), np.zeros((len(xq), k), np.int64))
    part = GpuPart(Side(), search, DeviceOrder(order, np.copy))
    rule = TimingRule(0.0001, 1, 1)
    e2e = []
    rnd = part.round(lambda: e2e.append(time_round(search, order, 10, 2, rule)) or e2e[0], 10, 2, rule)
    assert len(part.rounds) == 1 and part.rounds[0] is not rnd
    assert rnd.searched == rnd.queries + 10 + part.rounds[0].searched  # the backend's counters saw both rounds
    fields = part.fields(rnd.qps)
    assert fields["device_qps"] > 0 and fields["gpu_peak_search_bytes"] == 0
    Side.memory.close()


# -- the runner's GPU path, with a GPU faked in this process -----------------------------------

class _InProcess:
    """Build points run here, in this process, where the fakes below hold."""

    def __init__(self, *args) -> None:
        pass

    def describe(self) -> dict:
        return {"kind": "in-process (test)"}

    def run(self, jobs, store, on_poll):
        from annbench.runner import worker

        for job in jobs:
            worker.run(job.spec)
            yield job, None


def test_the_runner_records_both_times_and_gpu_memory_for_a_gpu_point(tmp_path, t2i_file, monkeypatch):
    from pathlib import Path

    from annbench.cli.main import main
    from annbench.results.crossover import crossover
    from annbench.results.frame import load_results
    from annbench.runner import gpu_side, identity, sweep

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    monkeypatch.setenv("ANNBENCH_BACKENDS", "fake_gpu=fake_gpu:FakeGpuFlat")
    monkeypatch.setattr(identity, "gpus", lambda: ("Fake GPU, 1000 MiB",))
    used = {"bytes": 100}
    monkeypatch.setattr(gpu_side, "device_reader", lambda gpus: (lambda: (used["bytes"],) * gpus, "fake"))
    monkeypatch.setattr(gpu_side, "torch_upload", lambda: np.copy)
    monkeypatch.setattr(sweep, "LocalExecutor", _InProcess)
    res = tmp_path / "res"
    assert main(["sweep", "--dataset", str(t2i_file), "--index", "fake_gpu", "--device", "cpu,gpu", "--nq", "1,100",
                 "--queries", "text", "--min-time", "0.02", "--repeats", "2", "--results", str(res)]) == 0
    df = load_results(res)
    assert set(df["status"]) == {"ok"} and len(df) == 4
    gpu, cpu = df[df["device"] == "gpu"], df[df["device"] == "cpu"]
    assert set(gpu["gpu_model"]) == {"Fake GPU, 1000 MiB"} and set(gpu["gpus_used"]) == {1}
    assert (gpu["device_qps"] > 0).all() and (gpu["device_share"] > 0).all()
    assert (gpu["gpu_index_bytes"] == 0).all() and (gpu["gpu_peak_search_bytes"] == 0).all()
    assert gpu["gpu_memory_method"].str.contains("fake").all()
    assert (gpu["recall_ties"] == cpu["recall_ties"].max()).all()  # same search, same ids
    assert "device_qps" not in cpu or cpu["device_qps"].isna().all()
    assert len(crossover(df)) == 1  # the GPU points pair with the CPU ones of the same setting


def test_the_summary_gives_both_times_and_gpu_memory_of_gpu_points():
    import pandas as pd

    from annbench.results.gpu_figures import gpu_lines

    base = {"dataset": "d", "query_set": "text", "index": "ivf_flat", "build_label": "nlist=1024",
            "search_label": "nprobe=16", "status": "ok", "gpu_model": "NVIDIA H200, 143771 MiB"}
    rows = pd.DataFrame([
        {**base, "device": "gpu", "nq": 100, "qps": 1000.0, "device_qps": 5000.0, "device_share": 0.2,
         "gpu_index_bytes": 2 * 2**30, "gpu_peak_search_bytes": 3 * 2**30},
        {**base, "device": "gpu", "nq": 10000, "qps": 90000.0, "device_qps": 100000.0, "device_share": 0.9,
         "gpu_index_bytes": 2 * 2**30, "gpu_peak_search_bytes": 5 * 2**29},
        {**base, "device": "cpu", "nq": 10000, "qps": 8000.0, "gpu_model": None},
    ])
    lines = gpu_lines(rows)
    assert len(lines) == 2
    assert lines[1] == ("  ivf_flat nlist=1024 nprobe=16  nq=10,000: 90,000 end-to-end, 100,000 device-only "
                        "(0.90 of the time is the GPU's own); GPU 2.00 GiB index, 2.50 GiB peak "
                        "[NVIDIA H200, 143771 MiB]")
    assert gpu_lines(rows[rows["device"] == "cpu"].drop(columns="gpu_model")) == []


def test_the_gpu_checks_guard_keeps_time_for_the_last_steps(tmp_path):
    from annbench.bench.gpu_check import RESERVE_S, Guard, Log, step

    now = [100.0]
    guard = Guard(480, clock=lambda: now[0])
    assert guard.left() == 480 - RESERVE_S
    now[0] += 400
    assert guard.left() == 80 - RESERVE_S and guard.left(10) == 70
    log = Log(tmp_path / "log")
    assert step(log, "sweep", ["false"], guard.left()) == -1  # too little left: not started
    assert "sweep: skipped, the time guard leaves 5 s" in (tmp_path / "log").read_text()
    assert step(log, "slow", ["sleep", "60"], 5.5) == 124  # stopped at its limit, the run goes on

"""The CPU/GPU crossover: a pure function of result rows, checked on hand-made rows
(CPU-only machines cannot produce GPU points; the rows have the shape load_results gives)."""

import math

import pandas as pd

from annbench.results.crossover import crossover, describe
from annbench.results.summary import format_summary


def _row(device, nq, qps, nprobe=8, recall=0.95, index="ivf_flat"):
    return {"dataset": "clip-synth", "query_set": "text", "k": 10, "index": index, "device": device,
            "build_label": "nlist=1024", "search_label": f"nprobe={nprobe}", "nq": nq, "qps": qps,
            "recall_ties": recall, "status": "ok", "threads": 2, "id": f"{device}-{nprobe}-{nq}"}


def _frame(rows):
    """Rows as load_results gives them; each point's id unique, as a record's key makes it."""
    return pd.DataFrame([{**r, "id": f"{r['device']}-{r['search_label']}-{r['nq']}-{r['threads']}-{n}"}
                         for n, r in enumerate(rows)])


def test_smallest_nq_where_the_gpu_wins():
    cpu = [_row("cpu", nq, q) for nq, q in ((1, 2000), (10, 6000), (100, 9000), (1000, 10000))]
    gpu = [_row("gpu", nq, q, recall=0.951) for nq, q in ((1, 300), (10, 2500), (100, 20000), (1000, 90000))]
    table = crossover(_frame(cpu + gpu))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["crossover_nq"] == 100 and row["max_nq"] == 1000 and row["nq_compared"] == [1, 10, 100, 1000]
    assert math.isclose(row["speedup_at_max_nq"], 9.0)
    assert (row["recall_cpu"], row["recall_gpu"]) == (0.95, 0.951)
    assert describe(row) == "GPU faster from nq=100 (9.00x at nq=1,000)"


def test_cpu_always_faster_and_settings_apart():
    rows = [_row("cpu", 1, 5000, nprobe=1), _row("cpu", 100, 50000, nprobe=1),
            _row("gpu", 1, 400, nprobe=1), _row("gpu", 100, 40000, nprobe=1),
            _row("cpu", 1, 900, nprobe=64), _row("cpu", 100, 1000, nprobe=64),
            _row("gpu", 1, 100, nprobe=64), _row("gpu", 100, 30000, nprobe=64)]
    table = crossover(_frame(rows)).set_index("search_label")
    assert math.isnan(table.loc["nprobe=1", "crossover_nq"])
    assert describe(table.loc["nprobe=1"]).startswith("CPU faster at every nq up to 100 (0.80x")
    assert table.loc["nprobe=64", "crossover_nq"] == 100


def test_only_common_nq_ok_points_and_the_first_read_copy_count():
    rows = [_row("cpu", 1, 1000), _row("cpu", 10, 1000), _row("cpu", 1000, 1000),
            _row("gpu", 10, 5000), _row("gpu", 10, 500), _row("gpu", 100, 9000),
            {**_row("gpu", 1, 99999), "status": "failed"}]
    row = crossover(_frame(rows)).iloc[0]
    assert row["nq_compared"] == [10] and row["crossover_nq"] == 10


def test_nothing_to_compare_without_both_devices():
    assert crossover(_frame([_row("cpu", 1, 10), _row("cpu", 10, 100)])).empty
    assert crossover(pd.DataFrame()).empty
    assert "GPU vs CPU" not in format_summary(_frame([_row("cpu", 1, 10), _row("cpu", 10, 100)]))


def test_summary_names_the_crossover():
    rows = [_row("cpu", 1, 2000), _row("cpu", 1000, 10000), _row("gpu", 1, 300), _row("gpu", 1000, 90000)]
    text = format_summary(_frame(rows))
    assert "GPU vs CPU: from which nq the GPU has the higher QPS at every larger nq measured" in text
    assert "ivf_flat nlist=1024 nprobe=8" in text and "GPU faster from nq=1,000 (9.00x at nq=1,000)" in text


def test_report_latency_chart_states_the_crossover():
    from annbench.report.load import _normalise
    from annbench.report.scaling import latency_chart

    rows = [_row("cpu", 1, 2000), _row("cpu", 1000, 10000), _row("gpu", 1, 300), _row("gpu", 1000, 90000),
            _row("cpu", 1, 900, nprobe=64), _row("cpu", 1000, 1000, nprobe=64),
            _row("gpu", 1, 100, nprobe=64), _row("gpu", 1000, 900, nprobe=64)]
    df = _normalise(_frame([{**r, "batch_p50_ms": 1000.0 * r["nq"] / r["qps"]} for r in rows]))
    chart = latency_chart(df, "ivf_flat", "recall_ties", "#336699", "lat")
    assert chart["subtitle"].endswith(
        ". GPU beats CPU from nq=1,000 for nlist=1024 · nprobe=8; never (up to nq=1,000) for nlist=1024 · nprobe=64")
    assert {s["dash"] for s in chart["series"]} == {True, False}


def test_the_crossover_is_where_the_gpu_stays_ahead_and_threads_are_apart():
    rows = [_row("cpu", 10, 1000), _row("cpu", 100, 9000), _row("cpu", 1000, 10000),
            _row("gpu", 10, 1200), _row("gpu", 100, 5000), _row("gpu", 1000, 50000),
            {**_row("cpu", 10, 100), "threads": 1}, {**_row("cpu", 1000, 900), "threads": 1}]
    table = crossover(_frame(rows))
    assert len(table) == 1 and table.iloc[0]["threads"] == 2  # one thread: no GPU points to pair with
    assert table.iloc[0]["crossover_nq"] == 1000  # ahead at nq=10, behind at 100: it pays from 1000


def test_gpu_wins_below_a_cpu_win_at_the_largest_nq_are_named():
    rows = [_row("cpu", 1, 200), _row("cpu", 1000, 1000), _row("gpu", 1, 3000), _row("gpu", 1000, 900)]
    row = crossover(_frame(rows)).iloc[0]
    assert math.isnan(row["crossover_nq"]) and row["gpu_wins_at"] == [1]
    assert describe(row) == "CPU faster at nq=1,000 (0.90x), GPU at nq=1"


def test_settings_at_several_thread_counts_read_apart():
    rows = [_row("cpu", 1, 100), _row("cpu", 1000, 1000), _row("gpu", 1, 50), _row("gpu", 1000, 9000),
            *({**r, "threads": 1} for r in (_row("cpu", 1, 100), _row("cpu", 1000, 500),
                                             _row("gpu", 1, 200), _row("gpu", 1000, 9000)))]
    text = format_summary(_frame(rows))
    assert "ivf_flat nlist=1024 nprobe=8 threads=1" in text and "ivf_flat nlist=1024 nprobe=8 threads=2" in text


def test_report_draws_gpu_points_beside_cpu_ones_dashed():
    from annbench.report.load import _normalise
    from annbench.report.tradeoff import recall_qps_chart

    rows = [_row("cpu", 1000, 10000), _row("gpu", 1000, 90000), _row("cpu", 1000, 4000, nprobe=64),
            _row("gpu", 1000, 60000, nprobe=64, recall=0.99)]
    chart = recall_qps_chart(_normalise(_frame(rows)), 1000, "recall_ties", {"ivf_flat": "#336699"}, "c")
    assert {s["name"]: s["dash"] for s in chart["series"]} == {"ivf_flat": False, "ivf_flat [gpu]": True}

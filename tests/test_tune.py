"""annbench tune: bisection on each build, lines of builds that stop, and the same answer as the full grid."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_cli

from annbench import load_results
from annbench.cli.main import main
from annbench.results.select import best, tie_state
from annbench.runner import tune as tune_rule
from annbench.runner.tune import bisect, build_name, dominated, ladder, stops

TARGETS = (0.9, 0.95, 0.99)
EF = list(range(10, 161, 6))  # 26 values of the bisected parameter
GRID = ["--index", "hnsw", "--M", "4,8,16", "--ef-construction", "20,80", "--ef", ",".join(map(str, EF)),
        "--nq", "20", "--k", "10", "--threads", "1", "--min-time", "0.06", "--repeats", "3"]


def test_bisection_finds_the_smallest_value_reaching_each_target_measuring_each_once():
    rng = random.Random(0)
    for _ in range(500):
        n = rng.randint(1, 40)
        recalls = sorted(rng.random() for _ in range(n))
        targets = sorted(rng.sample([0.1, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0], 3))
        probed: list[int] = []
        answers = bisect(n, targets, lambda i: probed.append(i) or recalls[i])
        assert answers == {t: next((i for i in range(n) if recalls[i] >= t), None) for t in targets}
        assert len(probed) == len(set(probed)) <= len(targets) * math.ceil(math.log2(n + 1))


def test_default_candidates_step_by_at_most_one_and_a_half():
    ef = ladder(16, 1024)
    assert ef[0] == 16 and ef[-1] == 1024 and all(b / a <= 1.5 for a, b in zip(ef, ef[1:]))


def test_a_line_of_builds_stops_at_its_first_build_dominated_by_the_one_before():
    fast, slow = {("q", 10, 0.9): 2000.0}, {("q", 10, 0.9): 1000.0}
    assert dominated(fast, slow) and not dominated(slow, fast)
    assert not dominated(fast, {**slow, ("q", 10, 0.99): 10.0})  # it reaches a target the other does not
    assert not dominated({}, slow)
    order = {"M": [4, 8, 16, 32], "efc": [20, 80]}
    tried = {build_name({"M": 4, "efc": 20}): slow, build_name({"M": 8, "efc": 20}): fast, build_name({"M": 16, "efc": 20}): slow}
    assert not stops({"M": 16, "efc": 20}, order, tried)  # the line has not stopped before M=16
    assert stops({"M": 32, "efc": 20}, order, tried)      # M=16 was dominated by M=8
    assert not stops({"M": 32, "efc": 80}, order, tried)  # another line
    assert not stops({"M": 8, "efc": 80}, order, tried)


@pytest.mark.parametrize("args, message", [
    (["--index", "nope"], "unknown index 'nope'"),
    (["--index", "flat"], "index 'flat' has no search parameter that trades recall for speed monotonically"),
    (["--index", "hnsw", "--targets", "0.9,1.5"], "--targets: 1.5 is not a recall in (0, 1]"),
    (["--index", "hnsw", "--targets", "0"], "--targets: 0 is not a recall in (0, 1]"),
    (["--index", "hnsw", "--targets", "high"], "--targets: 'high' is not a number"),
    (["--index", "hnsw", "--ray"], "--ray is for sweep"),
])
def test_bad_input_is_a_one_line_error(args, message, capsys):
    assert main(["tune", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    """5,000 clustered 48-d vectors and 200 queries, exact top-100 (angular)."""
    from annbench.data.hdf5io import write_dataset
    from annbench.data.importer import QuerySpec
    from annbench.groundtruth.build_imported import build_dataset

    rng = np.random.default_rng(7)
    centres = rng.standard_normal((50, 48)).astype(np.float32)
    xb = centres[rng.integers(0, 50, 5000)] + 1.2 * rng.standard_normal((5000, 48)).astype(np.float32)
    xq = centres[rng.integers(0, 50, 200)] + 1.2 * rng.standard_normal((200, 48)).astype(np.float32)
    ds = build_dataset("tune-small", xb, [QuerySpec("q", xq)], "angular", 100)
    return write_dataset(ds, tmp_path_factory.mktemp("tune") / "small.hdf5")


@pytest.fixture(scope="module")
def grid_and_tune(small_set, tmp_path_factory):
    """The full grid swept, and the same grid tuned, into two results directories."""
    root = tmp_path_factory.mktemp("runs")
    sweep = run_cli("sweep", "--dataset", str(small_set), *GRID, "--results", str(root / "grid"))
    assert sweep.returncode == 0, sweep.stderr
    tune = run_cli("tune", "--dataset", str(small_set), *GRID, "--targets", ",".join(map(str, TARGETS)),
                   "--results", str(root / "tune"))
    assert tune.returncode == 0, tune.stderr
    return load_results(root / "grid"), load_results(root / "tune"), tune, root


def _smallest_reaching(df: pd.DataFrame, target: float) -> dict[str, int]:
    reach = df[df["recall_ties"] >= target]
    return reach.groupby("build_label")["search.ef"].min().to_dict()


def test_tune_measures_at_most_a_third_of_the_grid(grid_and_tune):
    grid, tuned, out, _ = grid_and_tune
    assert len(grid) == 3 * 2 * len(EF) and (grid["status"] == "ok").all()
    assert (tuned["status"] == "ok").all() and len(tuned) <= len(grid) / 3
    assert f"tune done: {len(tuned)} points measured of the {len(grid)} the full grid would measure" in out.stdout


def test_each_build_bisected_finds_the_grids_smallest_setting_reaching_each_target(grid_and_tune):
    grid, tuned, _, _ = grid_and_tune
    same = grid.set_index("id").loc[tuned["id"], "recall_ties"].to_numpy()
    np.testing.assert_array_equal(tuned["recall_ties"].to_numpy(), same)  # a build gives the same recalls
    built = set(tuned["build_label"])
    for target in TARGETS:
        expected = {b: ef for b, ef in _smallest_reaching(grid, target).items() if b in built}
        assert _smallest_reaching(tuned, target) == expected


def _judged(pair: pd.DataFrame, winner_id: str, target: float) -> pd.Series:
    """:func:`best` (the one selection rule, ties included) between the grid's winner and another setting
    as one run measured them: the rule compares a winner with the best row of another index."""
    return best(pair.assign(index=np.where(pair["id"] == winner_id, "grid's winner", "other")), target,
                "recall_ties").iloc[0]


def test_the_tune_measured_the_grids_winner_or_a_setting_the_grid_ties_with_it(grid_and_tune):
    """The tune cannot miss the grid's winner: on the winner's build it measured the winner itself, or the
    setting its bisection settled on, which the grid run (those two measured interleaved, one build) ties
    with the winner; and the winner it names is the fastest of what it measured, so at least as fast there
    as that setting. Which of two close settings on different builds is faster is not asked of two runs:
    each measures its builds one after another on a busy machine, and a point's rounds do not span the
    drift between builds (a CI run ordered M=16 ef_construction 20 and 80, both ef=10, one way in the
    grid and the other in the tune, each beyond the other's min-max spread)."""
    grid, tuned, out, _ = grid_and_tune
    mine = tuned.set_index("id")
    for target in TARGETS:
        w, g = best(grid, target, "recall_ties").iloc[0], best(tuned, target, "recall_ties").iloc[0]
        assert f"recall_ties >= {target:g} (q, nq=20, cpu): hnsw {g['build_label']} {g['search_label']}" in out.stdout
        on_build = tuned[(tuned["build_label"] == w["build_label"]) & (tuned["recall_ties"] >= target)]
        assert len(on_build), f"the tune never measured the grid winner's build {w['build_label']}"
        s = on_build.sort_values("search.ef").iloc[0]  # the build's bisected setting
        if s["id"] != w["id"]:
            judged = _judged(grid[grid["id"].isin([w["id"], s["id"]])], w["id"], target)
            assert tie_state(judged["tie"]) is True, (target, w["search_label"], s["search_label"])
        assert mine.loc[g["id"], "qps"] >= mine.loc[s["id"], "qps"], (target, g["id"], s["id"])


def test_tuning_again_measures_nothing(grid_and_tune, small_set):
    _, tuned, _, root = grid_and_tune
    again = run_cli("tune", "--dataset", str(small_set), *GRID, "--targets", ",".join(map(str, TARGETS)),
                    "--results", str(root / "tune"))
    assert again.returncode == 0, again.stderr
    assert f"tune done: {len(tuned)} points measured" in again.stdout and "; 0 this run" in again.stdout
    assert len(load_results(root / "tune")) == len(tuned)


def test_a_failed_build_is_recorded_on_the_candidate_it_was_measuring(small_set, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANNBENCH_BACKENDS", "crashy=crashing:Crashing")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}:{ROOT / 'tests' / 'plugins'}")  # the worker's
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugins"))  # this process's
    monkeypatch.setitem(tune_rule.MONOTONE, "crashy", "delay")  # exact whatever the delay: all reach
    assert main(["tune", "--dataset", str(small_set), "--index", "crashy", "--mode", "raise;ok",
                 "--delay", "0.001,0.002,0.003,0.004", "--nq", "20", "--min-time", "0.02",
                 "--results", str(tmp_path)]) == 0
    df = load_results(tmp_path)
    failed, ok = df[df["build.mode"] == "raise"], df[df["build.mode"] == "ok"]
    assert len(failed) == 1 and failed["status"].tolist() == ["failed"] and failed["search.delay"].tolist() == [0.003]
    assert "backend exploded" in failed["reason"].iloc[0]
    assert sorted(ok["search.delay"]) == [0.001, 0.002, 0.003] and (ok["recall_ties"] == 1.0).all()  # exact: all reach
    out = capsys.readouterr().out
    assert "(q, nq=20, cpu): crashy build_delay=0.0,mode=ok delay=0.00" in out
    assert "tune done: 4 points measured of the 8" in out and "1 failed" in out


def test_a_build_dominated_by_the_one_before_stops_its_line(small_set, tmp_path, capsys):
    """ef_construction=4 reaches no target where 80 reaches both (recall, so whatever the speeds): the
    line along ef_construction stops there, and 40, after it, is never built."""
    assert main(["tune", "--dataset", str(small_set), "--index", "hnsw", "--M", "8", "--ef-construction", "80,4,40",
                 "--ef", "10,16,22,28,40,64", "--targets", "0.9,0.95", "--nq", "20", "--threads", "1",
                 "--min-time", "0.02", "--results", str(tmp_path)]) == 0
    built = set(load_results(tmp_path)["build.ef_construction"])
    assert built == {80, 4}
    captured = capsys.readouterr()
    assert "tune: not built: hnsw {'M': 8, 'ef_construction': 40} cpu" in captured.err
    assert "of the 18 the full grid would measure" in captured.out

"""The sweep runner end to end: isolation of crashing backends, resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from annbench import load_results

PLUGINS = str(ROOT / "tests" / "plugins")


@pytest.fixture
def plugin_env(monkeypatch):
    monkeypatch.setenv("ANNBENCH_BACKENDS", "crashy=crashing:Crashing")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), PLUGINS]))


def test_crashing_backends_are_recorded_and_the_sweep_goes_on(tmp_path, t2i_file, plugin_env):
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "crashy", "--mode", "segv;raise;hang;oom;ok",
                "--nq", "1,50", "--k", "10", "--timeout", "10", "--memory-limit-gb", "1.5",
                "--min-time", "0.05", "--results", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "res")
    assert len(df) == 5 * 2  # 5 build points x 2 nq
    reasons = {row["build.mode"]: (row["status"], row["reason"]) for _, row in df.iterrows()}
    assert reasons["segv"] == ("failed", "crashed (SIGSEGV)")
    assert reasons["raise"][0] == "failed" and "backend exploded" in reasons["raise"][1]
    assert reasons["hang"] == ("failed", "timed out after 10 s")
    assert reasons["oom"] == ("failed", "out of memory (over the 1.5 GiB limit)")
    ok = df[df["build.mode"] == "ok"]
    assert (ok["status"] == "ok").all() and (ok["recall"] == 1.0).all()
    assert (ok["qps"] > 0).all() and (ok["batch_p50_ms"] > 0).all()
    few = ok["batches_timed"] < 100  # a p99 needs 100 batches
    assert ok.loc[few, "batch_p99_ms"].isna().all() and (ok.loc[~few, "batch_p99_ms"] >= ok.loc[~few, "batch_p50_ms"]).all()


def _records(res: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (res / "records").glob("*.json")}


def test_resume_after_kill_9_loses_nothing_and_repeats_nothing(tmp_path, t2i_file, plugin_env):
    res = tmp_path / "res"
    argv = [sys.executable, "-m", "annbench", "sweep", "--dataset", str(t2i_file), "--index", "crashy",
            "--delay", ",".join(f"0.00{i}" for i in range(1, 9)), "--nq", "200", "--queries", "text",
            "--k", "10", "--min-time", "0.3", "--results", str(res)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    deadline = time.monotonic() + 120
    while len(list((res / "records").glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)  # the worker dies with its parent
    first = _records(res)
    assert 3 <= len(first) < 8
    for blob in first.values():
        assert json.loads(blob)["status"] == "ok"  # every stored record is whole
    time.sleep(0.5)
    assert _records(res) == first  # nothing kept running after the kill

    r = subprocess.run(argv, capture_output=True, text=True, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert f"{8 - len(first)} measured, {len(first)} already stored" in r.stdout
    after = _records(res)
    assert len(after) == 8 and all(after[name] == blob for name, blob in first.items())
    assert not list(res.rglob("*.tmp"))


@pytest.mark.parametrize("args, message", [
    (["--index", "nope"], "unknown index 'nope'"),
    (["--index", "crashy", "--bogus", "1"], "unknown parameter --bogus"),
    (["--index", "crashy", "--k", "5000"], "k=5000 must be between 1 and the base size"),
    (["--index", "crashy", "--k", "200"], "exceeds the ground-truth depth"),
    (["--index", "crashy", "--queries", "image"], "no query set 'image'"),
    (["--index", "crashy", "--nq", "0"], "nq values must be positive"),
    (["--index", "crashy", "--device", "tpu"], "unknown device"),
    (["--index", "ivf_pq", "--nlist", "16", "--m", "7"], "the dimension 512 is not a multiple of m=7"),
    (["--index", "faiss", "--factory", "IVF16,PQ7"], "bad factory string 'IVF16,PQ7'"),
    (["--config", "missing.yaml"], "config file not found"),
    (["--config", "bad.yaml"], "unreadable config"),
    (["--config", "empty.yaml"], "non-empty 'indexes' list"),
])
def test_sweep_errors_are_one_line(tmp_path, t2i_file, plugin_env, args, message):
    (tmp_path / "bad.yaml").write_text("indexes: [ {index: flat\n")
    (tmp_path / "empty.yaml").write_text("k: 10\n")
    r = run_cli("sweep", "--dataset", str(t2i_file), *args, "--results", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "res").exists()


def test_missing_dataset(tmp_path):
    r = run_cli("sweep", "--dataset", "nowhere", "--index", "flat", cwd=tmp_path)
    assert r.returncode == 2 and "no dataset named 'nowhere'" in r.stderr


def test_retry_failed_measures_failures_again_and_keeps_the_rest(tmp_path, t2i_file, plugin_env):
    res = tmp_path / "res"
    common = ["sweep", "--dataset", str(t2i_file), "--index", "crashy", "--build-delay", "0,4", "--nq", "1000",
              "--queries", "text", "--k", "10", "--min-time", "0.05", "--results", str(res)]
    r = run_cli(*common, "--timeout", "2")  # the quick build is measured, the slow one runs out of time
    assert r.returncode == 0, r.stderr
    status = dict(zip(load_results(res)["build.build_delay"], load_results(res)["status"]))
    assert status == {0: "ok", 4: "failed"}
    before = _records(res)

    r = run_cli(*common, "--timeout", "2")
    assert "0 measured, 2 already stored" in r.stdout and _records(res) == before  # a failure is a result

    r = run_cli(*common, "--timeout", "120", "--retry-failed")
    assert r.returncode == 0, r.stderr
    assert "1 measured, 1 already stored, 0 failed, 0 skipped (1 earlier failed or skipped, retried)" in r.stdout
    df = load_results(res)
    assert len(df) == 2 and set(df["status"]) == {"ok"} and (df["recall"] == 1.0).all()
    ok_name = next(n for n, blob in before.items() if json.loads(blob)["status"] == "ok")
    assert _records(res)[ok_name] == before[ok_name]  # the measured point is untouched


def test_index_parameters_are_never_taken_for_abbreviated_sweep_flags(tmp_path, t2i_file):
    """ivf_pq's --m is its own parameter, not an abbreviation of --min-time or --memory-limit-gb."""
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_pq", "--nlist", "16", "--m", "8",
                "--nprobe", "16", "--nq", "100", "--queries", "text", "--k", "10", "--min-time", "0.05",
                "--results", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "res")
    assert df["build.m"].tolist() == [8] and (df["status"] == "ok").all()
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_pq", "--min", "1",
                "--results", str(tmp_path / "res"))
    assert r.returncode == 2 and "unknown parameter --min for ivf_pq" in r.stderr


def test_sweep_without_dataset_uses_the_default_clip_synth(tmp_path):
    r = run_cli("sweep", "--index", "ivf_flat", "--nprobe", "1,8,64", cwd=tmp_path)
    assert r.returncode == 2 and "the default dataset 'clip-synth' is not made yet" in r.stderr
    r = run_cli("datasets", "make", "clip-synth", "--n", "2000", "--nq", "50", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_cli("sweep", "--index", "ivf_flat", "--nlist", "64", "--nprobe", "1,8,64", "--nq", "50",
                "--queries", "text", "--min-time", "0.02", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    df = load_results(tmp_path / "results" / "clip-synth")
    assert sorted(df["search.nprobe"]) == [1, 8, 64] and set(df["dataset"]) == {"clip-synth"}
    assert df.sort_values("search.nprobe")["recall"].is_monotonic_increasing
    # made again at another n under the same name: its stored points must not pass as done
    r = run_cli("datasets", "make", "clip-synth", "--n", "1500", "--nq", "50", "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_cli("sweep", "--index", "ivf_flat", "--nlist", "64", "--nprobe", "1,8,64", "--nq", "50",
                "--queries", "text", "--min-time", "0.02", cwd=tmp_path)
    assert r.returncode == 2 and "holds results for a dataset 'clip-synth' of n=2000" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    sweep = ["sweep", "--index", "ivf_flat", "--nlist", "64", "--nprobe", "1,8,64", "--nq", "50",
             "--queries", "text", "--min-time", "0.02"]
    for seed, expected in (("1", "same size, other vectors"), ("0", "0 measured, 3 already stored")):
        r = run_cli("datasets", "make", "clip-synth", "--n", "2000", "--nq", "50", "--seed", seed, "--force",
                    cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        r = run_cli(*sweep, cwd=tmp_path)
        assert expected in r.stderr + r.stdout  # another seed is refused; the same file again resumes

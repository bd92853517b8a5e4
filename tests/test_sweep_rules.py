"""Bad input everywhere, one sweep per results directory, stale temporaries, the faiss BLAS rule by version,
re-rank as a stage of the runner, and the packaging."""

import os
import signal
import subprocess
import sys
import time
import tomllib

import faiss
import numpy as np
import pytest
from conftest import ROOT, run_cli

from annbench.backends import registry
from annbench.runner.blas import BLAS_FROM_NQ, counts_nq_times_d, default_threshold

PLUGINS = str(ROOT / "tests" / "plugins")


@pytest.fixture
def plugin_env(monkeypatch):
    monkeypatch.setenv("ANNBENCH_BACKENDS", "crashy=crashing:Crashing")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), PLUGINS]))


def _one_line_error(r, message):
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("args, message", [
    (["--threads", "-1"], "threads must be an integer >= 1"),
    (["--threads", str(os.cpu_count() * 4)], f"threads={os.cpu_count() * 4} exceeds the"),
    (["--min-time", "-1"], "min_time must be a number > 0"),
    (["--min-time", "0"], "min_time must be a number > 0"),
    (["--timeout", "-5"], "timeout must be a number > 0"),
    (["--repeats", "0"], "repeats must be an integer > 0"),
    (["--repeats", "-2"], "repeats must be an integer > 0"),
    (["--memory-limit-gb", "-1"], "memory limit must be a number of GB >= 0"),
    (["--rerank", "-3"], "rerank must be an integer >= 0"),
    (["--config", "cfg.yaml"], "give --index NAME (with its parameters) or --config FILE.yaml, not both"),
    (["--memory-limit-gb", "inf"], "memory limit must be a number of GB >= 0"),
    (["--memory-limit-gb", "nan"], "memory limit must be a number of GB >= 0"),
    (["--min-time", "inf"], "min_time must be a number > 0"),
    (["--nq", ""], "empty value list"),
    (["--queries", ""], "empty value list"),
    (["--nq", "1,,10"], "empty value in the list '1,,10'"),
    (["--queries", "text,"], "empty value in the list 'text,'"),
    (["--nlist", "16", "--nprobe", "1,"], "empty value in the list '1,'"),
    (["--nlist", "16", "--nprobe", "1", "--bogus", "3"], "unknown parameter --bogus"),
])
def test_bad_sweep_settings_are_one_line_errors_and_write_nothing(tmp_path, t2i_file, args, message):
    (tmp_path / "cfg.yaml").write_text("indexes: [{index: flat}]\n")
    index = "ivf_flat" if "--nlist" in args else "flat"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", index, "--nq", "10", *args,
                "--results", str(tmp_path / "res"), cwd=tmp_path)
    _one_line_error(r, message)
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("config, message", [
    ("queries: []\nindexes: [{index: flat}]", "no query set to sweep"),
    ("device: []\nindexes: [{index: flat}]", "nothing to sweep"),
    ("indexes: [{index: ivf_flat, build: {nlist: [16]}, search: {nprobe: []}}]", "no values given for search"),
    ("indexes: [{index: ivf_flat, build: {nlist: []}}]", "no values given for build"),
    ("save_neighbors: maybe\nindexes: [{index: flat}]", "save_neighbors must be true or false"),
    ("memory_limit_gb: .inf\nindexes: [{index: flat}]", "memory limit must be a number"),
    ("min_time: fast\nindexes: [{index: flat}]", "min_time must be a number > 0"),
    ("repeats: 2.5\nindexes: [{index: flat}]", "repeats must be an integer > 0"),
    ("indexes: [{index: flat, rerank: [10], extra: 1}]", "unknown key(s) extra"),
])
def test_bad_config_values_are_one_line_errors_and_write_nothing(tmp_path, t2i_file, config, message):
    (tmp_path / "cfg.yaml").write_text(config + "\nnq: [10]\n")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--config", "cfg.yaml", "--results", str(tmp_path / "res"),
                cwd=tmp_path)
    _one_line_error(r, message)
    assert not (tmp_path / "res").exists()


@pytest.fixture(scope="module")
def small_results(tmp_path_factory, t2i_file):
    res = tmp_path_factory.mktemp("small") / "res"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,16",
                "--nq", "10", "--queries", "text", "--min-time", "0.03", "--results", str(res))
    assert r.returncode == 0, r.stderr
    return res


@pytest.mark.parametrize("args, message", [
    (["--targets", "0.9,x"], "--targets: 'x' is not a number"),
    (["--targets", "1.5"], "--targets: 1.5 is not a recall"),
    (["--max-bytes-per-vector", "-1"], "--max-bytes-per-vector must be >= 0"),
    (["--max-build-s", "-2"], "--max-build-s must be >= 0"),
    (["--machine", "no such cpu"], "no results match --machine 'no such cpu'"),
    (["--env", "faiss-cpu==0.0.0"], "no results match"),
])
def test_bad_summary_input_is_a_one_line_error(small_results, args, message):
    before = sorted(p.name for p in small_results.rglob("*"))
    _one_line_error(run_cli("summary", "--results", str(small_results), *args), message)
    assert sorted(p.name for p in small_results.rglob("*")) == before


def test_summary_targets_are_each_a_column_once_in_ascending_order(small_results):
    r = run_cli("summary", "--results", str(small_results), "--targets", "0.99,0.5,0.99")
    assert r.returncode == 0, r.stderr
    heads = [line for line in r.stdout.splitlines() if "QPS @" in line]
    assert heads and all(h.count("QPS @ 0.5 ") == 1 and h.count("QPS @ 0.99 ") == 1 for h in heads)
    assert all(h.index("QPS @ 0.5 ") < h.index("QPS @ 0.99 ") for h in heads)


def test_results_that_name_a_file_are_a_one_line_error(tmp_path, t2i_file):
    (tmp_path / "notes.txt").write_text("mine")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--nq", "10", "--queries", "text",
                "--results", str(tmp_path / "notes.txt"))
    _one_line_error(r, "notes.txt exists and is not a directory")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_summary_names_the_ivf_builds_whose_kmeans_had_too_few_rows_a_list(small_results, tmp_path, t2i_file):
    assert "k-means trained on fewer" not in run_cli("summary", "--results", str(small_results)).stdout  # 62 a list
    res = tmp_path / "res"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16,64", "--nprobe", "4",
                "--nq", "10", "--queries", "text", "--min-time", "0.02", "--results", str(res))
    assert r.returncode == 0, r.stderr
    out = run_cli("summary", "--results", str(res)).stdout
    assert ("k-means trained on fewer than the 39 rows a list faiss's k-means asks for" in out
            and "t2i / ivf_flat nlist=64: 1,000 rows, 16 a list (nlist <= 25 gives at least 39)" in out)
    assert "nlist=16:" not in out


def test_a_results_directory_named_twice_is_read_once(small_results, tmp_path):
    from annbench.results.frame import load_results

    again = f"{small_results}/../{small_results.name}/"
    assert len(load_results(small_results, again)) == len(load_results(small_results)) == 2
    once, twice = (run_cli("summary", "--results", str(small_results), *extra).stdout
                   for extra in ([], ["--results", again]))
    assert twice == once
    r = run_cli("report", "--results", str(small_results), "--results", again, "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    assert "2 points from" in (tmp_path / "rep" / "index.html").read_text()


@pytest.mark.parametrize("text, message", [('{"broken": ', "unreadable result record"),
                                           ("[]", "not a result record"), ('{"id": "x"}', "not a result record")])
def test_a_damaged_record_is_a_one_line_error(small_results, t2i_file, tmp_path, text, message):
    import shutil

    res = tmp_path / "res"
    shutil.copytree(small_results, res)
    record = sorted((res / "records").glob("*.json"))[0]
    record.write_text(text)
    for command in (["summary"], ["results"], ["report", "--out", str(tmp_path / "rep")]):
        _one_line_error(run_cli(*command, "--results", str(res)), f"{message}: {record}")
    assert not (tmp_path / "rep").exists()
    if message == "unreadable result record":  # what the error says to do brings the point back
        record.unlink()
        r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "ivf_flat", "--nlist", "16", "--nprobe", "1,16",
                    "--nq", "10", "--queries", "text", "--min-time", "0.03", "--results", str(res))
        assert r.returncode == 0 and "1 measured, 1 already stored" in r.stdout, r.stdout + r.stderr


def test_a_folder_inside_the_results_is_not_taken_for_them(small_results, tmp_path):
    for command in (["summary"], ["results"], ["report", "--out", str(tmp_path / "rep")]):
        r = run_cli(*command, "--results", str(small_results / "records"))
        _one_line_error(r, "holds .json files but no records/ folder")
    assert not (tmp_path / "rep").exists()


def test_summary_of_results_with_no_measured_point_says_so(tmp_path, t2i_file):
    res = tmp_path / "res"
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--device", "gpu", "--nq", "10",
                "--queries", "text", "--results", str(res))
    assert r.returncode == 0 and "1 skipped" in r.stdout, r.stderr
    r = run_cli("summary", "--results", str(res))
    assert r.returncode == 0 and "no successful results" in r.stdout and "Traceback" not in r.stderr
    assert "1 point(s) not measured:\n  flat: skipped: no GPU (1 point)" in r.stdout  # and why


def test_a_second_sweep_on_the_same_results_is_refused_while_the_first_runs(tmp_path, t2i_file, plugin_env):
    res = tmp_path / "res"
    argv = [sys.executable, "-m", "annbench", "sweep", "--dataset", str(t2i_file), "--index", "crashy",
            "--delay", "0.05", "--nq", "2000", "--queries", "text", "--min-time", "5", "--results", str(res)]
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        while not (res / ".lock").exists() or not (res / ".lock").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "crashy", "--nq", "10", "--queries", "text",
                    "--min-time", "0.01", "--results", str(res))
        _one_line_error(r, f"another sweep is writing to {res} (pid {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    time.sleep(0.5)
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "crashy", "--nq", "10", "--queries", "text",
                "--min-time", "0.01", "--results", str(res))
    assert r.returncode == 0, r.stderr  # the kernel dropped the killed sweep's lock


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid += 1


def test_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path, small_results):
    dead, live = _dead_pid(), os.getpid()
    data = tmp_path / "datasets"
    data.mkdir()
    (data / f".clip-synth.hdf5.{dead}.k2j3.tmp").write_bytes(b"half a dataset")
    (data / f".other.hdf5.{live}.a1b2.tmp").write_bytes(b"being written")
    r = run_cli("datasets", "--dir", str(data), "make", "clip-synth", "--n", "300", "--nq", "20")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in data.iterdir()) == [f".other.hdf5.{live}.a1b2.tmp", "clip-synth.hdf5"]

    reports = tmp_path / "reports"
    (reports / f".bench.{dead}.tmp-x81").mkdir(parents=True)
    (reports / f".bench.{dead}.tmp-x81" / "index.html").write_text("half")
    (reports / f".bench.{dead}.old-x").mkdir()
    r = run_cli("report", "--results", str(small_results), "--out", str(reports / "bench"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["bench"]


def test_blas_threshold_follows_the_installed_faiss():
    assert not counts_nq_times_d("1.13.2") and counts_nq_times_d("1.14.2") and counts_nq_times_d("1.15.1")
    n = BLAS_FROM_NQ
    assert default_threshold(512, "1.13.2") == n and default_threshold(512, "1.15.1") == n * 512
    # the installed faiss takes BLAS exactly from BLAS_FROM_NQ queries a batch under the default: its
    # BLAS and its own loops round differently, so the bits of the distances tell which path ran
    rng = np.random.default_rng(0)
    d = 64
    xb, xq = rng.standard_normal((5000, d)).astype(np.float32), rng.standard_normal((n, d)).astype(np.float32)
    index = faiss.IndexFlatIP(d)
    index.add(xb)
    saved = faiss.cvar.distance_compute_blas_threshold
    try:
        faiss.cvar.distance_compute_blas_threshold = 0
        blas = index.search(xq, 5)[0]
        faiss.cvar.distance_compute_blas_threshold = 1 << 30
        loops = index.search(xq, 5)[0]
        if np.array_equal(blas, loops):
            pytest.skip("BLAS and faiss's loops agree to the bit on this machine: the path cannot be told apart")
        faiss.cvar.distance_compute_blas_threshold = default_threshold(d, faiss.__version__)
        assert np.array_equal(index.search(xq, 5)[0], blas)                  # nq = BLAS_FROM_NQ: BLAS
        assert np.array_equal(index.search(xq[:n - 1], 5)[0], loops[:n - 1])  # one query fewer: faiss's loops
    finally:
        faiss.cvar.distance_compute_blas_threshold = saved


def test_rerank_is_the_runners_parameter_not_a_backends(tmp_path, t2i_file):
    for name in registry.names():
        try:
            cls = registry.get(name)
        except Exception:
            continue
        assert "rerank" not in cls.search_params and "rerank" not in cls.build_params, name
    (tmp_path / "cfg.yaml").write_text("indexes: [{index: flat, search: {rerank: [10]}}]\n")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--config", str(tmp_path / "cfg.yaml"),
                "--results", str(tmp_path / "res"))
    _one_line_error(r, "rerank is a stage of the runner, not a search parameter of flat")
    r = run_cli("sweep", "--dataset", str(t2i_file), "--index", "flat", "--rerank", "10", "--nq", "10",
                "--results", str(tmp_path / "res"))
    _one_line_error(r, "holds float vectors")


def test_the_default_install_is_faiss_cpu_and_the_gpu_build_an_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = meta["dependencies"]
    assert any(d.startswith("faiss-cpu") for d in deps) and not any(d.startswith("faiss-gpu") for d in deps)
    assert "numpy>=2" in deps
    assert any(d.startswith("faiss-gpu") for d in meta["optional-dependencies"]["gpu"])
    assert "install-gpu:" in (ROOT / "Makefile").read_text()

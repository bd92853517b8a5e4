"""``annbench sweep --ray`` on a real Ray cluster of 3 nodes on this machine (ray.cluster_utils.Cluster):
a head that runs no points (0 CPUs, as ``ray start --head --num-cpus 0``) and two workers of one CPU.
The nodes take Ray's default address for this machine, not 127.0.0.1: on Linux a driver given
127.0.0.1 connects through the machine's own address, which a node bound to 127.0.0.1 refuses.

Without ``--ray`` nothing of Ray is imported; bad input is one line of error.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from conftest import ROOT, run_cli

PLUGINS = str(ROOT / "tests" / "plugins")
BACKENDS = "gated=gated:Gated"
# a killed node is declared dead in about a second, not Ray's default 15
FAST_NODE_DEATH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 300,
                   "health_check_timeout_ms": 300, "health_check_failure_threshold": 3}
SWEEP = ["--k", "10", "--nq", "10", "--threads", "1", "--min-time", "0.01", "--repeats", "1", "--save-neighbors"]
CONFIG = """
indexes:
  - index: flat
  - index: ivf_flat
    build: {nlist: [8, 16]}
    search: {nprobe: [1, 3]}
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """2000 x 32 angular base, 40 queries, exact top 10."""
    from annbench.data.hdf5io import write_dataset
    from annbench.data.importer import QuerySpec
    from annbench.groundtruth.build_imported import build_dataset

    rng = np.random.default_rng(7)
    xb, xq = rng.standard_normal((2000, 32)).astype(np.float32), rng.standard_normal((40, 32)).astype(np.float32)
    ds = build_dataset("tiny", xb, [QuerySpec("q", xq, "image")], "angular", 10)
    return write_dataset(ds, tmp_path_factory.mktemp("ray-data") / "tiny.hdf5")


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ray-config") / "sweep.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def cluster():
    """Head (0 CPUs) and two one-CPU workers; the nodes see the test backends as the driver does."""
    from ray.cluster_utils import Cluster

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), PLUGINS]))
        mp.setenv("ANNBENCH_BACKENDS", BACKENDS)
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                          "_system_config": FAST_NODE_DEATH})
        for _ in range(2):
            _add_worker(c)
        yield c
    c.shutdown()


def _add_worker(cluster):
    return cluster.add_node(num_cpus=1)


def _sweep(*args: str, ray_address: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "annbench", "sweep", *SWEEP, *args]
    return argv + (["--ray", ray_address] if ray_address else [])


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), PLUGINS]), "ANNBENCH_BACKENDS": BACKENDS}


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=300)


def _records(results: Path) -> dict[str, dict]:
    return {r["id"]: r for r in (json.loads(p.read_text()) for p in (results / "records").glob("*.json"))}


def _manifest(results: Path) -> dict:
    (path,) = (results / "manifests").glob("*.json")
    return json.loads(path.read_text())


def _ray_ids(cluster) -> set[str]:
    return {n.node_id for n in cluster.list_all_nodes()}


# -- without a cluster ---------------------------------------------------------------------------

def _python(code: str) -> subprocess.CompletedProcess:
    """``code`` run by a Python of its own (what it imports, and a Ray connection, end with it)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300)


def test_a_plain_sweep_imports_nothing_of_ray(tmp_path, dataset):
    argv = ["sweep", "--dataset", str(dataset), "--index", "flat", *SWEEP, "--results", str(tmp_path / "res")]
    r = _python(f"import sys; from annbench.cli.main import main; assert main({argv!r}) == 0; "
                "assert 'ray' not in sys.modules, 'ray imported'; print('no ray')")
    assert r.returncode == 0 and "no ray" in r.stdout, r.stderr
    assert _manifest(tmp_path / "res")["executor"]["kind"] == "local"


def test_ray_missing_is_one_line_of_error(tmp_path, dataset):
    argv = ["sweep", "--dataset", str(dataset), "--index", "flat", "--results", str(tmp_path / "res"),
            "--ray", "127.0.0.1:6379"]
    r = _python(f"import sys; sys.modules['ray'] = None; from annbench.cli.main import main; sys.exit(main({argv!r}))")
    assert r.returncode == 2
    assert r.stderr.strip() == ("annbench: error: --ray needs Ray: pip install 'annbench[cluster]' "
                                "(or 'ray>=2.40')")
    assert not (tmp_path / "res").exists()  # nothing written


def test_an_unreachable_address_is_one_line_of_error(tmp_path, dataset):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli("sweep", "--dataset", str(dataset), "--index", "flat", *SWEEP,
                "--results", str(tmp_path / "res"), "--ray", f"127.0.0.1:{port}")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()  # Ray on Linux reaches 127.0.0.1 through the machine's address
    assert line.startswith(f"annbench: error: cannot reach a Ray cluster at 127.0.0.1:{port}")
    assert line.endswith(": Connection refused")
    assert not (tmp_path / "res").exists()


# -- on the cluster ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_results(tmp_path_factory, dataset, config) -> Path:
    """The config swept on this machine, without Ray."""
    res = tmp_path_factory.mktemp("local") / "res"
    r = _run(_sweep("--dataset", str(dataset), "--config", str(config), "--results", str(res)))
    assert r.returncode == 0, r.stderr
    return res


def _same_points(results: Path, local: Path) -> dict[str, dict]:
    """Every point of ``results`` is one of ``local``'s, with the same recall and returned ids."""
    ours, theirs = _records(results), _records(local)
    assert set(ours) <= set(theirs)
    for rid, rec in ours.items():
        assert rec["status"] == "ok", rec["reason"]
        assert rec["recall"] == theirs[rid]["recall"]
        assert rec["dataset_path"] == theirs[rid]["dataset_path"]
        assert np.array_equal(np.load(results / rec["neighbors_file"]), np.load(local / rec["neighbors_file"]))
        assert np.array_equal(np.load(results / rec["per_query_recall_file"]),
                              np.load(local / rec["per_query_recall_file"]))
    return ours


def test_a_ray_sweep_gives_the_same_points_as_a_local_one(tmp_path, cluster, dataset, config, local_results):
    res = tmp_path / "res"
    r = _run(_sweep("--dataset", str(dataset), "--config", str(config), "--results", str(res),
                    ray_address=cluster.address))
    assert r.returncode == 0, r.stderr
    records = _same_points(res, local_results)
    assert len(records) == len(_records(local_results)) == 1 + 2 * 2
    workers = {n.node_id for n in cluster.worker_nodes}
    ran_on = {rec["node"].rsplit("ray:", 1)[1] for rec in records.values()}
    assert ran_on == workers  # 3 build points over both workers, none on the head (no CPUs)
    nodes = _manifest(res)["executor"]["nodes"]
    assert {n["node"].rsplit("ray:", 1)[1] for n in nodes} == _ray_ids(cluster)
    assert {n["node"].rsplit("ray:", 1)[1]: n["unused_because"] for n in nodes}[cluster.head_node.node_id] == "no CPUs"
    assert all(n["dataset"] == "shared path" for n in nodes if n["runs_points"])
    again = _run(_sweep("--dataset", str(dataset), "--config", str(config), "--results", str(res),
                        ray_address=cluster.address))
    assert again.returncode == 0 and "0 measured, 5 already stored" in again.stdout, again.stderr


def test_a_dataset_sent_through_the_object_store(tmp_path, cluster, dataset, local_results):
    """Nodes told to take the dataset from Ray's object store (as nodes without the shared path do)."""
    argv = ["sweep", "--dataset", str(dataset), "--index", "flat", *SWEEP, "--results", str(tmp_path / "res")]
    r = _python("from annbench.cli.main import build_parser\n"
                "from annbench.cli.sweep_cmd import build_plan\n"
                "from annbench.runner.ray_executor import RayExecutor\n"
                "from annbench.runner.sweep import run_plan\n"
                f"plan, results = build_plan(*build_parser().parse_known_args({argv!r}))\n"
                f"print(run_plan(plan, results, executor=RayExecutor({cluster.address!r}, plan, ship_dataset=True)))")
    assert r.returncode == 0, r.stderr
    counts = ast.literal_eval(r.stdout.strip().splitlines()[-1])
    assert counts["measured"] == 1 and counts["failed"] == 0
    _same_points(tmp_path / "res", local_results)
    assert all(n["dataset"] == "object store" for n in _manifest(tmp_path / "res")["executor"]["nodes"]
               if n["runs_points"])


def _wait_for(what, timeout: float = 60.0):
    """``what()`` once it is true, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def _started(gate: Path, n: int) -> list[tuple[str, str]]:
    """(Ray node id, tag) of each gated build started, once there are ``n``."""
    def marks():
        found = sorted(tuple(p.name.rsplit("-", 1)) for p in gate.glob("started/*"))
        return found if len(found) >= n else None
    return _wait_for(marks)


def _kill(cluster, node_id: str) -> None:
    """The node's machine dies: its raylet and every process under it (Ray workers, the point's
    worker) at once, then its other Ray processes (``remove_node`` alone leaves a busy worker running)."""
    (node,) = [n for n in cluster.worker_nodes if n.node_id == node_id]
    raylet = psutil.Process(node.all_processes["raylet"][0].process.pid)
    for proc in [raylet, *raylet.children(recursive=True)]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    cluster.remove_node(node, allow_graceful=False)


class GatedSweep:
    """A ``--ray`` sweep of the gated backend over ``tags``, running in the background, with a dataset
    folder (so a gate) of its own; its output goes to files (a pipe nobody reads could fill)."""

    def __init__(self, tmp_path: Path, cluster, dataset: Path, tags: str) -> None:
        (tmp_path / "data").mkdir()
        data = Path(shutil.copy(dataset, tmp_path / "data" / dataset.name))
        self.gate, self.res, self.out, self.err = data.parent / "gate", tmp_path / "res", tmp_path / "out", tmp_path / "err"
        self.argv = _sweep("--dataset", str(data), "--index", "gated", "--tag", tags, "--results", str(self.res),
                           ray_address=cluster.address)
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err, env=_env())

    def finish(self) -> tuple[str, str]:
        """(stdout, stderr), once it has exited by itself."""
        assert self.proc.wait(timeout=120) == 0, self.err.read_text()
        return self.out.read_text(), self.err.read_text()


def test_a_node_killed_mid_point_gets_the_point_run_on_another(tmp_path, cluster, dataset):
    sweep = GatedSweep(tmp_path, cluster, dataset, "0,1")
    try:
        (killed, tag), (other, _) = _started(sweep.gate, 2)
        _kill(cluster, killed)
        (sweep.gate / "open").touch()
        out, err = sweep.finish()
    finally:
        sweep.proc.kill()
        _add_worker(cluster)  # back to two workers for the tests after this one
    assert "2 measured, 0 already stored, 0 failed" in out
    assert f"ray:{killed} lost gated {{'tag': {tag}}}" in err and "retrying on another node" in err
    records = _records(sweep.res)
    assert len(records) == 2 and all(r["status"] == "ok" for r in records.values())
    assert {r["build"]["tag"]: r["node"].rsplit("ray:", 1)[1] for r in records.values()} == {0: other, 1: other}
    assert killed in {n["node"].rsplit("ray:", 1)[1] for n in _manifest(sweep.res)["executor"]["nodes"]}


def test_a_point_whose_node_dies_twice_is_recorded_as_failed(tmp_path, cluster, dataset):
    sweep = GatedSweep(tmp_path, cluster, dataset, "0")
    try:
        ((first, _),) = _started(sweep.gate, 1)
        _kill(cluster, first)
        second = next(node for node, _ in _started(sweep.gate, 2) if node != first)
        _kill(cluster, second)
        out, _ = sweep.finish()
    finally:
        sweep.proc.kill()
        _add_worker(cluster)
        _add_worker(cluster)
    assert "0 measured, 0 already stored, 1 failed" in out
    (record,) = _records(sweep.res).values()
    assert record["status"] == "failed" and record["reason"].startswith("its node died (")
    assert record["reason"].index(f"ray:{first}: ") < record["reason"].index("; then ") < \
        record["reason"].index(f"ray:{second}: ")
    assert record["node"].endswith(f"ray:{second}")


def test_resume_after_the_driver_is_killed(tmp_path, cluster, dataset):
    sweep = GatedSweep(tmp_path, cluster, dataset, "0,1,2")
    gate, res = sweep.gate, sweep.res
    try:
        _started(gate, 2)  # tags 0 and 1, one on each worker
        (gate / "open-0").touch()
        _wait_for(lambda: len(list(res.glob("records/*.json"))) == 1)
        _started(gate, 3)  # tag 2, on the worker tag 0 left
    finally:
        sweep.proc.send_signal(signal.SIGKILL)
        sweep.proc.wait()
    first = {p.name: p.read_bytes() for p in res.glob("records/*.json")}
    assert [json.loads(b)["build"]["tag"] for b in first.values()] == [0]
    workers = [int(p.read_text()) for p in (gate / "started").iterdir()]
    _wait_for(lambda: not any(psutil.pid_exists(pid) for pid in workers), 30)  # the cluster stops them
    (gate / "open").touch()
    r = _run(sweep.argv)
    assert r.returncode == 0, r.stderr
    assert "2 measured, 1 already stored, 0 failed" in r.stdout
    after = {p.name: p.read_bytes() for p in res.glob("records/*.json")}
    assert len(after) == 3 and all(after[name] == blob for name, blob in first.items())
    assert all(json.loads(b)["status"] == "ok" for b in after.values())
    assert not list(res.rglob("*.tmp"))

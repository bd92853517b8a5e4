"""The one script the GPU machine runs (issue 15): faiss and the GPUs it sees, the GPU-marked tests,
clip-synth at 1M made there, its ground truth checked against a CPU brute force, the sweep of
``annbench/configs/gpu.yaml`` (CPU and GPU, nq 1..10,000), then summary and report.

Everything lands in ``--out`` (default ``$OUT``), at most 8 files, none in a sub-folder (what the
device tool brings back): gpu-check.log, pytest-gpu.log, truth-check.json, summary.txt,
gpu-points.csv (per GPU point: QPS end-to-end and device-only, GPU memory), crossover.csv,
results.tar.gz, report.tar.gz. A time guard (``--budget-s``) stops any step that would leave too
little time for the summary and the report; the records the sweep stored by then are kept.

Runs with what the GPU machine has (numpy, h5py, pandas, matplotlib, pyyaml, psutil, pyarrow, scipy,
pytest, faiss from the carried wheels); imports nothing else. Without a GPU it runs too (GPU points
are then recorded "skipped: no GPU"): that is how it was checked before any GPU ran it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESERVE_S = 75  # kept back for summary, report and packing, whatever the steps before took


class Guard:
    """The run's deadline: each step gets what is left, minus the reserve for the last steps."""

    def __init__(self, budget_s: float, clock=time.monotonic) -> None:
        self.clock, self.deadline = clock, clock() + budget_s

    def left(self, reserve: float = RESERVE_S) -> float:
        return self.deadline - reserve - self.clock()


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def say(self, text: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        print(line, flush=True)
        with self.path.open("a") as fh:
            fh.write(line + "\n")


def step(log: Log, name: str, argv: list[str], timeout: float, out: Path | None = None) -> int:
    """Run ``argv`` (its output appended to the log, or to ``out``), killed after ``timeout`` seconds."""
    if timeout <= 5:
        log.say(f"{name}: skipped, the time guard leaves {timeout:.0f} s")
        return -1
    log.say(f"{name}: {' '.join(argv)} (at most {timeout:.0f} s)")
    t0 = time.monotonic()
    target = out or log.path
    with target.open("a") as fh:
        try:
            rc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, timeout=timeout,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    log.say(f"{name}: exit {rc} after {time.monotonic() - t0:.1f} s")
    return rc


def annbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "annbench", *args]


def environment(log: Log) -> None:
    import faiss

    from annbench.runner import identity

    log.say(f"python {sys.version.split()[0]}; faiss {faiss.__version__} "
            f"({identity.versions(['faiss'])['faiss']}); faiss sees {faiss.get_num_gpus()} GPU(s): "
            f"{', '.join(identity.gpus()) or 'none'}")
    log.say(f"CPU: {identity.machine()['cpu_model']}, {identity.cores()} cores")
    try:
        import torch

        log.say(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    except ImportError:
        log.say("torch: not installed (no device-only time)")


def truth_check(dataset: Path, queries: int = 200) -> dict:
    """The stored ground truth (made on the GPU where faiss sees one) against a CPU brute force of
    its first ``queries`` text queries: same ids up to exact ties, same distances."""
    import numpy as np

    from annbench.data.hdf5io import read_dataset
    from annbench.groundtruth import exact_knn

    ds = read_dataset(dataset, lazy_base=True)
    qs = ds.query_set("text")
    k = qs.neighbors.shape[1]
    D, I = exact_knn(ds.xb, qs.queries[:queries], k, ds.metric, use_gpu=False)
    stored_I, stored_D = qs.neighbors[:queries], qs.distances[:queries]
    same_ids = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(I, stored_I)]))
    max_dist = float(np.abs(D - stored_D).max())
    return {"queries": queries, "k": int(k), "id_overlap": same_ids, "max_distance_diff": max_dist,
            "agree": bool(same_ids >= 0.999 and max_dist < 1e-5)}


def gpu_tables(results: Path, out: Path) -> None:
    """gpu-points.csv (every GPU point's speed split and memory) and crossover.csv."""
    from annbench.results.crossover import crossover
    from annbench.results.frame import load_results

    if not (results / "records").is_dir():
        return
    df = load_results(results)
    if df.empty or "device" not in df:
        return
    cols = ["index", "build_label", "search_label", "device", "nq", "status", "reason", "recall_ties", "qps",
            "device_qps", "device_share", "batch_p50_ms", "device_batch_p50_ms", "gpu_index_bytes",
            "gpu_peak_search_bytes", "index_bytes", "build_s", "to_host_s", "from_host_s", "gpu_model", "gpus_used",
            "gpu_mode"]
    df[[c for c in cols if c in df]].sort_values(["index", "device", "nq"]).to_csv(out / "gpu-points.csv", index=False)
    crossover(df).to_csv(out / "crossover.csv", index=False)


def pack(folder: Path, archive: Path) -> None:
    if folder.exists():
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "gpu-check-out"))
    p.add_argument("--n", type=int, default=1_000_000, help="clip-synth base size (default 1M)")
    p.add_argument("--nq", type=int, default=10_000, help="queries per query set (at least the largest nq)")
    p.add_argument("--config", default="annbench/configs/gpu.yaml")
    p.add_argument("--sweep-nq", help="the sweep's nq values instead of the config's (a small trial run)")
    p.add_argument("--budget-s", type=float, default=480, help="the whole run's time, guard included")
    p.add_argument("--skip-tests", action="store_true")
    args = p.parse_args(argv)
    from annbench.cli.paths import datasets_dir

    guard, out = Guard(args.budget_s), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "gpu-check.log")
    try:
        environment(log)
    except Exception as exc:  # faiss itself does not load: nothing else can run, say why in the log
        log.say(f"environment: {type(exc).__name__}: {exc}")
        return 1
    if not args.skip_tests:
        step(log, "GPU tests", [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests"],
             min(90, guard.left(RESERVE_S + 150)), out / "pytest-gpu.log")
    name = f"clip-synth-n{args.n}"
    dataset = ROOT / datasets_dir() / f"{name}.hdf5"
    if not dataset.exists():
        step(log, "dataset", annbench("datasets", "make", "clip-synth", "--n", str(args.n), "--nq", str(args.nq),
                                      "--name", name), guard.left(RESERVE_S + 90))  # 90 s left for the sweep
    if dataset.exists():
        t0 = time.monotonic()
        check = truth_check(dataset)
        (out / "truth-check.json").write_text(json.dumps(check, indent=1))
        log.say(f"ground truth vs CPU brute force: {check} ({time.monotonic() - t0:.1f} s)")
        results = ROOT / "results" / "gpu"
        nq = ["--nq", args.sweep_nq] if args.sweep_nq else []
        step(log, "sweep", annbench("sweep", "--config", args.config, "--dataset", name, "--results", str(results), *nq),
             guard.left())
        step(log, "summary", annbench("summary", "--results", str(results)), guard.left(15), out / "summary.txt")
        step(log, "report", annbench("report", "--results", str(results), "--out", str(ROOT / "reports" / "gpu")),
             guard.left(10))
        gpu_tables(results, out)
        pack(results / "records", out / "results.tar.gz")
        pack(ROOT / "reports" / "gpu", out / "report.tar.gz")
    log.say(f"done; files in {out}: {', '.join(sorted(f.name for f in out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

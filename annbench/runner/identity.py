"""What a point's numbers depend on besides its settings: the machine, the libraries that ran it,
and the OpenMP/BLAS variables they ran under.

Both are stored as data in every record (as asv does), and their short hash is
part of the record's key: a point measured after a faiss upgrade, or on
another machine, is a new point, never a resumed one. Versions are those of
the distributions that provide the backend's libraries (``faiss-cpu==1.15.1``:
a faiss-gpu build is another environment), plus Python, numpy and annbench,
which every point runs through.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from functools import lru_cache
from typing import Iterable

ALWAYS = ("numpy", "annbench")  # every point goes through the runner and numpy
# variables that change how OpenMP and BLAS threads run (spin-waiting, binding, kernels); the thread
# counts annbench sets itself from --threads are keyed as threads
RUNTIME_PREFIXES = ("OMP_", "GOMP_", "KMP_", "OPENBLAS_", "MKL_", "BLIS_", "GOTO")
SET_BY_ANNBENCH = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """The cores this process may run on (the affinity mask, not the whole host)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def gpus() -> tuple[str, ...]:
    """GPU names as faiss sees them (empty without a GPU or a GPU build of faiss)."""
    try:
        import faiss

        n = faiss.get_num_gpus()
    except Exception:  # a broken CUDA install must not stop a CPU sweep
        return ()
    if not n:
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout
        return tuple(line.strip() for line in out.splitlines() if line.strip())[:n]
    except (OSError, subprocess.SubprocessError):
        return tuple(f"GPU {i}" for i in range(n))


def machine() -> dict:
    """The facts of this machine that change measured numbers."""
    return {"cpu_model": _cpu_model(), "cores": cores(), "arch": platform.machine(), "gpus": list(gpus())}


@lru_cache(maxsize=None)
def _distribution(module: str) -> str:
    if module == "python":
        return f"python=={sys.version.split()[0]}"
    dists = importlib.metadata.packages_distributions().get(module) or [module]
    for dist in dists:
        try:
            return f"{dist}=={importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"{module}==not-installed"


def versions(libraries: Iterable[str]) -> dict[str, str]:
    """``{"faiss": "faiss-cpu==1.15.1", "numpy": "numpy==2.4.6", "python": "python==3.11.7", ...}``."""
    names = sorted({*libraries, *ALWAYS, "python"})
    return {name: _distribution(name) for name in names}


def runtime(environ: dict | None = None) -> dict[str, str]:
    """The OpenMP and BLAS variables the workers run under (``OMP_WAIT_POLICY=PASSIVE`` changes
    small-batch timings several times over), but the thread counts annbench sets itself."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in sorted(environ.items()) if k.startswith(RUNTIME_PREFIXES) and k not in SET_BY_ANNBENCH}


def short_hash(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def env_id(machine_facts: dict, library_versions: dict, runtime_vars: dict | None = None) -> str:
    """The key of a point's environment: same machine facts, library versions and runtime variables, same id."""
    return short_hash({"machine": machine_facts, "versions": library_versions, "runtime": runtime_vars or {}})

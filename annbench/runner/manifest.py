"""Machine and library facts, stored as data with every run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from datetime import datetime, timezone

import psutil


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpus() -> list[str]:
    """GPU names as faiss sees them (empty without a GPU or a GPU build)."""
    try:
        import faiss

        n = faiss.get_num_gpus()
    except Exception:  # a broken CUDA install must not stop a CPU sweep
        return []
    if not n:
        return []
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout
        return [line.strip() for line in out.splitlines() if line.strip()][:n]
    except (OSError, subprocess.SubprocessError):
        return [f"GPU {i}" for i in range(n)]


def build_manifest(run_id: str, argv: list[str], threads: int, blas_threshold: int | None) -> dict:
    import faiss

    return {
        "run_id": run_id,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv),
        "machine": {"cpu_model": _cpu_model(), "cores": os.cpu_count(),
                    "memory_bytes": psutil.virtual_memory().total, "platform": platform.platform(),
                    "gpus": gpus()},
        "versions": {"annbench": _version("annbench"), "faiss": faiss.__version__,
                     "hnswlib": _version("hnswlib"), "annoy": _version("annoy"),
                     "usearch": _version("usearch"), "numpy": _version("numpy"),
                     "python": sys.version.split()[0]},
        "threads": threads,
        "distance_compute_blas_threshold": blas_threshold
        if blas_threshold is not None else int(faiss.cvar.distance_compute_blas_threshold),
    }

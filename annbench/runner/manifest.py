"""Machine and library facts of a run, stored as data beside its records."""

from __future__ import annotations

import platform
from datetime import datetime, timezone

import psutil

from annbench.runner.blas import BLAS_FROM_NQ
from annbench.runner.identity import runtime, versions


def build_manifest(run_id: str, argv: list[str], plan, machine: dict, index_versions: dict[str, dict]) -> dict:
    """``index_versions``: per index of the plan, the library versions its records are keyed by."""
    everything: dict[str, str] = {}
    for v in index_versions.values():
        everything.update(v)
    return {
        "run_id": run_id,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv),
        "machine": {**machine, "memory_bytes": psutil.virtual_memory().total, "platform": platform.platform()},
        "versions": {**versions(["faiss"]), **everything},
        "runtime": runtime(),
        "threads": plan.threads,
        "timing": plan.timing.key(),
        "blas_threshold": plan.blas_threshold if plan.blas_threshold is not None else f"default (BLAS from {BLAS_FROM_NQ} queries)",
    }

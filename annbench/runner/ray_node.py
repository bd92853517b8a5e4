"""What a Ray task does on a node of the cluster (the driver's side: :mod:`annbench.runner.ray_cluster`
and :mod:`annbench.runner.ray_executor`).

Plain functions that the driver wraps as Ray tasks; nothing here imports Ray. A
point runs through the same isolated worker as on one machine
(:func:`annbench.runner.isolate.run_isolated`: same time and memory limits, same
crash handling), into a temporary results directory on the node whose files go
back to the driver, the only writer of the real results directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psutil

from annbench.errors import UserError
from annbench.runner import identity
from annbench.runner.isolate import run_isolated

SHARED, SHIPPED = "shared path", "object store"  # how a node reads the dataset


def _matches(path: str | os.PathLike, fingerprint: str) -> bool:
    from annbench.data.hdf5io import sample_fingerprint

    try:
        return os.path.isfile(path) and sample_fingerprint(path) == fingerprint
    except (UserError, OSError):
        return False


def probe(dataset: str, fingerprint: str, libraries: list[str]) -> dict:
    """What the driver checks before it sends points here: this node's machine, the versions of the
    plan's libraries, its memory, and whether it sees the sweep's dataset at the driver's path."""
    return {"machine": identity.machine(), "versions": identity.versions(libraries),
            "memory_bytes": psutil.virtual_memory().total,
            "dataset": SHARED if _matches(dataset, fingerprint) else SHIPPED}


def _dataset_here(path: str, fingerprint: str, data, folder: str) -> str:
    """The dataset file to read: the shared ``path``, or ``data`` (the file's bytes from Ray's object
    store) written into ``folder``; either must have the sweep's fingerprint."""
    if data is None:
        if not _matches(path, fingerprint):
            raise RuntimeError(f"the dataset at {path} is gone or changed since the sweep started")
        return path
    copy = Path(folder) / "dataset.hdf5"
    data.tofile(copy)
    if not _matches(copy, fingerprint):
        raise RuntimeError("the dataset received through Ray's object store does not match its fingerprint")
    return str(copy)


def child_env(forwarded: dict) -> dict:
    """This node's environment, but with the driver's OpenMP/BLAS variables and backend plugins
    (``forwarded``): the point runs under the environment its key names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(identity.RUNTIME_PREFIXES)}
    return {**env, **forwarded}


def _collect(root: Path) -> dict[str, bytes]:
    """Every finished file the worker wrote (records, neighbour arrays), by path relative to ``root``."""
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def run_point(spec: dict, timeout_s: float, memory_limit: int, forwarded: dict, data) -> dict:
    """One build point here: ``{"reason": None or why it failed, "files": {relative path: bytes}}``.

    ``memory_limit`` 0: the same share of this node's memory as a sweep takes of its machine's."""
    from annbench.runner.sweep import default_memory_limit

    with tempfile.TemporaryDirectory(prefix="annbench-ray-") as tmp:
        results = Path(tmp) / "results"
        spec = {**spec, "results": str(results),
                "dataset": _dataset_here(spec["dataset"], spec["dataset_fingerprint"], data, tmp)}
        reason = run_isolated(spec, timeout_s, memory_limit or default_memory_limit(), child_env(forwarded))
        return {"reason": reason, "files": _collect(results)}

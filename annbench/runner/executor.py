"""Where build points run. The sweep hands an executor its jobs (one per build point still missing
points) and handles each outcome as it comes back; the executor decides where and how many at once.

:class:`LocalExecutor` runs them one after another, each in a child process on
this machine (:func:`annbench.runner.isolate.run_isolated`), whose worker writes
its records into the results directory itself. Another executor (a cluster's)
implements the same ``run`` and brings the records back to the driver to write.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

from annbench.runner.isolate import run_isolated


@dataclass
class Job:
    label: str                 # "ivf_flat {'nlist': 256} cpu", for messages
    spec: dict                 # what the worker runs (annbench.runner.worker)
    keys: list[dict]           # every point of the build point, for progress
    missing: list[dict]        # the points still to measure
    extra: dict = field(default_factory=dict)  # fields every record of the job carries (run, machine, ...)


class Executor(Protocol):
    def describe(self) -> dict:
        """Where the points run, for the run manifest (a cluster lists its nodes)."""

    def run(self, jobs: list[Job], store, on_poll: Callable[[Job], None]) -> Iterator[tuple[Job, str | None]]:
        """Run ``jobs``; yield each with None when it succeeded, else the reason it failed."""


class LocalExecutor:
    """One build point at a time, in a child process of this machine with a time and a memory limit."""

    def __init__(self, timeout_s: float, memory_limit: int, env: dict) -> None:
        self.timeout_s, self.memory_limit, self.env = timeout_s, memory_limit, env

    def describe(self) -> dict:
        return {"kind": "local", "node": platform.node()}

    def run(self, jobs: list[Job], store, on_poll: Callable[[Job], None]) -> Iterator[tuple[Job, str | None]]:
        node = platform.node()
        for job in jobs:
            job.spec["node"] = node
            yield job, run_isolated(job.spec, self.timeout_s, self.memory_limit, self.env, lambda job=job: on_poll(job))

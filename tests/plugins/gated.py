"""A backend whose build waits at a gate (loaded through $ANNBENCH_BACKENDS), for the Ray cluster
tests: a point marks the Ray node it started on, then waits until the test opens the gate, so that
the test can kill that node while the point runs.

The gate is the folder ``gate`` beside the dataset file: ``gate/started/<node id>-<tag>`` appears
when a build starts (holding the worker's process id), and the build goes on once ``gate/open`` or
``gate/open-<tag>`` exists. The node is read from the spec the worker was started with
(``python -m annbench.runner.worker SPEC.json``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from crashing import Crashing

WAIT_S = 120.0


class Gated(Crashing):
    name = "gated"
    build_params = {"tag": 0}  # only tells build points apart

    def __init__(self, d, metric, device, threads, tag=0):
        super().__init__(d, metric, device, threads)
        self.tag = tag

    def train(self, xt):
        spec = json.loads(Path(sys.argv[1]).read_text())
        gate = Path(spec["dataset"]).parent / "gate"
        (gate / "started").mkdir(parents=True, exist_ok=True)
        (gate / "started" / f"{spec['node'].rsplit('ray:', 1)[-1]}-{self.tag}").write_text(str(os.getpid()))
        deadline = time.monotonic() + WAIT_S
        opened = (gate / "open", gate / f"open-{self.tag}")
        while not any(p.exists() for p in opened) and time.monotonic() < deadline:
            time.sleep(0.05)

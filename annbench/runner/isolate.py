"""Run one build point in a child process with a time and a memory limit.

A backend that segfaults, hangs or eats the machine takes only its own process
down; the parent reports why and the sweep goes on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from typing import Callable

import psutil

POLL_S = 0.2


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crashed ({name})"
    return f"exited with status {code}"


def _tree_rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs)
    except psutil.Error:
        return 0


def run_isolated(spec: dict, timeout_s: float, memory_limit: int, env: dict,
                 on_poll: Callable[[], None] | None = None) -> str | None:
    """Run the worker on ``spec``; None on success, else the reason it failed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    tail: deque[str] = deque(maxlen=20)
    try:
        child = subprocess.Popen([sys.executable, "-m", "annbench.runner.worker", spec_path],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        os.set_blocking(child.stderr.fileno(), False)
        ps = psutil.Process(child.pid)
        start = time.monotonic()
        reason = None
        while child.poll() is None:
            time.sleep(POLL_S)
            _drain(child, tail)
            if on_poll:
                on_poll()
            if time.monotonic() - start > timeout_s:
                reason = f"timed out after {timeout_s:g} s"
            elif memory_limit and _tree_rss(ps) > memory_limit:
                reason = f"out of memory (over the {memory_limit / 2**30:.3g} GiB limit)"
            if reason:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return reason
        _drain(child, tail)
        if child.returncode != 0:
            last = next((line for line in reversed(tail) if line.strip()), "")
            return f"{_describe_exit(child.returncode)}" + (f": {last.strip()}" if last else "")
        return None
    finally:
        os.unlink(spec_path)


def _drain(child: subprocess.Popen, tail: deque) -> None:
    try:
        chunk = child.stderr.read()
    except (OSError, TypeError):
        return
    if chunk:
        tail.extend(chunk.splitlines())

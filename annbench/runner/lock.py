"""One sweep per results directory at a time: an advisory lock held for the whole run.

Two sweeps on one directory would time under each other's load and remove
each other's temporary files. The lock is ``flock`` on ``DIR/.lock``: the
kernel drops it when its holder exits, however it exits (``kill -9``
included), so a lock is never stale. The file keeps the holder's pid and
start time, for the message the second sweep gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from annbench.errors import UserError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def results_lock(results: str | os.PathLike) -> Iterator[None]:
    root = Path(results)
    if root.exists() and not root.is_dir():
        raise UserError(f"--results {root} exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise UserError(f"another sweep is writing to {root} ({holder}); wait for it to finish "
                            "or give another --results") from None
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {now}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock

"""Peak resident memory of the worker process over a stretch of work (a build, a point's search).

On Linux the kernel keeps the high-water mark itself (``VmHWM``), exact and
free; writing ``5`` to ``/proc/self/clear_refs`` resets it to the current
resident size. Where that is not possible a thread samples the resident size
every few milliseconds instead (a short peak between samples can be missed).
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import psutil

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")
SAMPLE_S = 0.005


def rss() -> int:
    return psutil.Process().memory_info().rss


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc keeps large freed blocks, which would
    count in the next stretch's resident size); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _hwm() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_hwm() -> bool:
    try:
        _CLEAR.write_text("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """``reset()`` starts a stretch, ``peak()`` gives the largest resident size since."""

    def __init__(self) -> None:
        self.exact = _hwm() is not None and _reset_hwm()
        self.method = "kernel high-water mark (VmHWM)" if self.exact else f"sampled every {SAMPLE_S * 1000:g} ms"
        self._max = 0
        self._stop = threading.Event()
        if not self.exact:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        proc = psutil.Process()
        while not self._stop.wait(SAMPLE_S):
            self._max = max(self._max, proc.memory_info().rss)

    def reset(self) -> int:
        """Start a stretch; returns the resident size it starts from."""
        if self.exact:
            _reset_hwm()
        self._max = rss()
        return self._max

    def peak(self) -> int:
        if self.exact:
            return max(_hwm() or 0, rss())
        return max(self._max, rss())

    def close(self) -> None:
        self._stop.set()

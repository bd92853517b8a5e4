"""GPU memory of a point: what the index holds on the device, and the peak while it is searched.

Read as the device's used memory (total - free, as cudaMemGetInfo and NVML give it), not from
an allocator's statistics: torch's would not see faiss's or cuVS's allocations, and faiss's
``StandardGpuResources.getMemoryInfo()`` not cuVS's (RMM). So the figures count everything on
the GPU above a baseline taken after the worker's GPU resources exist (CUDA context, cuBLAS
handle, faiss's temporary-memory stack) and before the build: the index, plus what a search
allocates beyond faiss's stack. One GPU per worker and nothing else on it, which is how the
GPU machine runs the sweep. A thread samples every ``SAMPLE_S`` (a spike shorter than that can
be missed); NVML first (no CUDA context of its own), else cupy, else torch; none: no figures.
"""

from __future__ import annotations

import threading
from typing import Callable

SAMPLE_S = 0.005
METHOD = "device used memory (total - free, {source}) above the pre-build baseline, sampled every 5 ms"


def _nvml() -> Callable[[], int] | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return lambda: int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
    except Exception:  # not installed, or no driver to answer
        return None


def _cupy() -> Callable[[], int] | None:
    try:
        import cupy

        cupy.cuda.runtime.memGetInfo()
    except Exception:
        return None

    def used() -> int:
        free, total = cupy.cuda.runtime.memGetInfo()
        return int(total - free)
    return used


def _torch() -> Callable[[], int] | None:
    try:
        import torch

        if not torch.cuda.is_available():
            return None
    except ImportError:
        return None

    def used() -> int:
        free, total = torch.cuda.mem_get_info(0)
        return int(total - free)
    return used


def device_reader() -> tuple[Callable[[], int] | None, str]:
    for source, make in (("NVML", _nvml), ("cupy memGetInfo", _cupy), ("torch mem_get_info", _torch)):
        read = make()
        if read is not None:
            return read, source
    return None, ""


class GpuMemory:
    """``baseline()`` before the build; ``index_bytes()`` after it; ``reset()`` / ``peak()`` around
    a point's rounds, like :class:`annbench.runner.memory.PeakRSS`. ``read`` None: every figure None."""

    def __init__(self, read: Callable[[], int] | None, source: str = "", sync: Callable[[], None] = lambda: None,
                 interval_s: float = SAMPLE_S) -> None:
        self.read, self.sync, self.interval_s = read, sync, interval_s
        self.method = METHOD.format(source=source) if read else None
        self._base = self._max = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def baseline(self) -> None:
        if self.read:
            self.sync()
            self._base = self.read()

    def index_bytes(self) -> int | None:
        """Used memory above the baseline once the build's work is done (its temporaries freed)."""
        if not self.read:
            return None
        self.sync()
        return max(0, self.read() - self._base)

    def reset(self) -> None:
        if not self.read:
            return
        self._max = self.read()
        if self._thread is None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._max = max(self._max, self.read())

    def peak(self) -> int | None:
        """The most used memory above the baseline since ``reset()``."""
        if not self.read:
            return None
        return max(0, max(self._max, self.read()) - self._base)

    def close(self) -> None:
        self._stop.set()


def gpu_fields(meter: GpuMemory, index_gpu_bytes: int | None, peak_bytes: int | None) -> dict:
    """The record's GPU memory fields (None where not measured)."""
    return {"gpu_index_bytes": index_gpu_bytes, "gpu_peak_search_bytes": peak_bytes,
            "gpu_memory_method": meter.method}

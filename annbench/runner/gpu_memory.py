"""GPU memory of a point: what the index holds on the device(s), and the peak while it is searched.

Read as each device's used memory (total - free, as cudaMemGetInfo and NVML give it), not from
an allocator's statistics: torch's would not see faiss's or cuVS's allocations, and faiss's
``StandardGpuResources.getMemoryInfo()`` not cuVS's (RMM). So the figures count everything on
the GPU above a baseline taken after the worker's GPU resources exist (CUDA context, cuBLAS
handle, faiss's temporary-memory stack) and before the build: the index, plus what a search
allocates beyond faiss's stack. A point reads the GPUs it uses (0..N-1 with ``--gpus N``), each
apart, and nothing else runs on them, which is how the GPU machine runs the sweep; a record holds
each GPU's figure and their sum. A thread samples every ``SAMPLE_S`` (a spike shorter than that can
be missed); NVML first (no CUDA context of its own), else cupy, else torch; none: no figures.
"""

from __future__ import annotations

import threading
from typing import Callable

Reader = Callable[[], tuple[int, ...]]  # used bytes of each GPU read, in device order

SAMPLE_S = 0.005
METHOD = "device used memory (total - free, {source}) above the pre-build baseline, sampled every 5 ms"


def _nvml(gpus: int) -> Reader | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(gpus)]
        return lambda: tuple(int(pynvml.nvmlDeviceGetMemoryInfo(h).used) for h in handles)
    except Exception:  # not installed, or no driver to answer
        return None


def _cupy(gpus: int) -> Reader | None:
    try:
        import cupy

        cupy.cuda.runtime.memGetInfo()
    except Exception:
        return None

    def used_on(i: int) -> int:
        with cupy.cuda.Device(i):
            free, total = cupy.cuda.runtime.memGetInfo()
        return int(total - free)
    return lambda: tuple(used_on(i) for i in range(gpus))


def _torch(gpus: int) -> Reader | None:
    try:
        import torch

        if not torch.cuda.is_available():
            return None
    except ImportError:
        return None

    def used_on(i: int) -> int:
        free, total = torch.cuda.mem_get_info(i)
        return int(total - free)
    return lambda: tuple(used_on(i) for i in range(gpus))


def device_reader(gpus: int = 1) -> tuple[Reader | None, str]:
    """A reader of GPUs 0..gpus-1, and what it reads through."""
    for source, make in (("NVML", _nvml), ("cupy memGetInfo", _cupy), ("torch mem_get_info", _torch)):
        read = make(gpus)
        if read is not None:
            return read, source
    return None, ""


def most_each(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Per GPU, the larger of two readings."""
    return tuple(map(max, a, b))


def _above(used: tuple[int, ...], base: tuple[int, ...] | None) -> tuple[int, ...]:
    base = base or (0,) * len(used)
    return tuple(max(0, u - b) for u, b in zip(used, base))


class GpuMemory:
    """``baseline()`` before the build; ``index_bytes()`` after it; ``reset()`` / ``peak()`` around
    a point's rounds, like :class:`annbench.runner.memory.PeakRSS`; figures per GPU, in device order.
    ``read`` None: every figure None."""

    def __init__(self, read: Reader | None, source: str = "", sync: Callable[[], None] = lambda: None,
                 interval_s: float = SAMPLE_S) -> None:
        self.read, self.sync, self.interval_s = read, sync, interval_s
        self.method = METHOD.format(source=source) if read else None
        self._base: tuple[int, ...] | None = None
        self._max: tuple[int, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def baseline(self) -> None:
        if self.read:
            self.sync()
            self._base = self.read()

    def index_bytes(self) -> tuple[int, ...] | None:
        """Used memory above the baseline once the build's work is done (its temporaries freed)."""
        if not self.read:
            return None
        self.sync()
        return _above(self.read(), self._base)

    def reset(self) -> None:
        if not self.read:
            return
        self._max = self.read()
        if self._thread is None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._max = most_each(self._max, self.read())

    def peak(self) -> tuple[int, ...] | None:
        """The most used memory above the baseline since ``reset()``."""
        if not self.read:
            return None
        return _above(most_each(self._max, self.read()), self._base)

    def close(self) -> None:
        self._stop.set()


def per_device_fields(name: str, per_gpu: tuple[int, ...] | None) -> dict:
    """``name`` summed over the GPUs used, and ``name_per_device`` (None where not measured)."""
    if per_gpu is None:
        return {name: None, f"{name}_per_device": None}
    return {name: sum(per_gpu), f"{name}_per_device": list(per_gpu)}

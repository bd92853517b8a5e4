"""What the worker does for a build point on the GPU beyond what it does for a CPU one: the GPU
memory baseline before the build and the index's GPU bytes after it, a synchronised search for
every timed batch, device-only rounds beside the end-to-end ones, the peak GPU memory of each
point's rounds, and the GPU's model in every record. ``GpuSide.open`` is None on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from annbench.runner.gpu_memory import GpuMemory, device_reader
from annbench.runner.gpu_timing import (DeviceOrder, device_fields, device_round, synced, takes_device_arrays,
                                        torch_upload)
from annbench.runner.timing import QueryOrder, Round, TimingRule


@dataclass
class GpuPart:
    """One point's GPU figures, gathered round by round."""
    side: "GpuSide"
    search: Callable                   # the backend's own search (takes device arrays), for device-only rounds
    order: DeviceOrder | None          # None: no device-only time for this point
    rounds: list[Round] = field(default_factory=list)
    peak: int | None = None

    def round(self, run: Callable[[], Round], nq: int, k: int, rule: TimingRule) -> Round:
        """The end-to-end round ``run``, then a device-only one, under one GPU memory peak."""
        self.side.memory.reset()
        rnd = run()
        if self.order is not None:
            dev = device_round(self.search, self.order, nq, k, rule, self.side.sync)
            self.rounds.append(dev)
            rnd.searched += dev.searched  # the backend's counters saw these searches too
        peak = self.side.memory.peak()
        self.peak = peak if self.peak is None else max(self.peak, peak or 0)
        return rnd

    def fields(self, qps: float) -> dict:
        return {**device_fields(self.rounds, qps), "gpu_peak_search_bytes": self.peak}


class GpuSide:
    def __init__(self, cls: type, device: str) -> None:
        import faiss

        from annbench.runner import identity

        self.sync: Callable[[], None] = faiss.gpu_sync_all_devices
        read, source = device_reader()
        self.memory = GpuMemory(read, source, self.sync)
        self.upload = torch_upload() if takes_device_arrays(cls, device) else None
        self.model = (identity.gpus() or ("unknown GPU",))[0]
        self._orders: dict[int, DeviceOrder] = {}

    @classmethod
    def open(cls, backend: type, device: str) -> "GpuSide | None":
        return cls(backend, device) if device == "gpu" else None

    def build_started(self) -> None:
        """The baseline, once every context this worker will hold exists (torch's too: its CUDA context
        is not the index's memory)."""
        if self.upload is not None:
            self.upload(np.zeros(1, dtype=np.float32))
        self.memory.baseline()

    def build_fields(self) -> dict:
        """Fields of every record of the build point: the GPU that ran it and what the index holds there."""
        return {"gpu_model": self.model, "gpus_used": 1, "gpu_index_bytes": self.memory.index_bytes(),
                "gpu_memory_method": self.memory.method}

    def attach(self, point, index) -> None:
        """Make ``point`` a GPU point: synchronised searches, device-only rounds where the backend allows."""
        point.search = synced(point.search, self.sync)
        point.gpu = GpuPart(self, index.search, self._device_order(point.order) if point.rerank_depth == 0 else None)

    def _device_order(self, order: QueryOrder) -> DeviceOrder | None:
        if self.upload is None:
            return None
        if id(order) not in self._orders:
            self._orders[id(order)] = DeviceOrder(order, self.upload)
        return self._orders[id(order)]

    def close(self) -> None:
        self.memory.close()

"""What the worker does for a build point on the GPU beyond what it does for a CPU one: the GPU
memory baseline before the build and the index's GPU bytes after it, a synchronised search for
every timed batch, device-only rounds beside the end-to-end ones, the peak GPU memory of each
point's rounds, and the GPUs' model and count in every record. ``GpuSide.open`` is None on the CPU.

A point spread over several GPUs (``--gpus N``) reads the memory of each and gets no device-only
rounds: faiss's IndexReplicas and IndexShards split the queries and merge the results in host memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from annbench.runner.gpu_memory import GpuMemory, device_reader, most_each, per_device_fields
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
    peak: tuple[int, ...] | None = None  # per GPU, the most over the rounds so far

    def round(self, run: Callable[[], Round], nq: int, k: int, rule: TimingRule) -> Round:
        """The end-to-end round ``run``, then a device-only one, under one GPU memory peak."""
        self.side.memory.reset()
        rnd = run()
        if self.order is not None:
            dev = device_round(self.search, self.order, nq, k, rule, self.side.sync)
            self.rounds.append(dev)
            rnd.searched += dev.searched  # the backend's counters saw these searches too
        peak = self.side.memory.peak()
        if peak is not None:
            self.peak = peak if self.peak is None else most_each(self.peak, peak)
        return rnd

    def fields(self, qps: float) -> dict:
        return {**device_fields(self.rounds, qps), **per_device_fields("gpu_peak_search_bytes", self.peak)}


def gpu_model(names: tuple[str, ...], gpus: int) -> str:
    """The model of the first ``gpus`` GPUs: one name where they are alike, else each different one."""
    return " / ".join(dict.fromkeys(names[:gpus])) or "unknown GPU"


class GpuSide:
    def __init__(self, cls: type, device: str, gpus: int = 1) -> None:
        import faiss

        from annbench.runner import identity

        self.sync: Callable[[], None] = faiss.gpu_sync_all_devices
        read, source = device_reader(gpus)
        self.memory = GpuMemory(read, source, self.sync)
        self.upload = torch_upload() if takes_device_arrays(cls, device) and gpus == 1 else None
        self.gpus = gpus
        self.model = gpu_model(identity.gpus(), gpus)
        self._orders: dict[int, DeviceOrder] = {}

    @classmethod
    def open(cls, backend: type, device: str, gpus: int = 1) -> "GpuSide | None":
        return cls(backend, device, gpus) if device == "gpu" else None

    def build_started(self) -> None:
        """The baseline, once every context this worker will hold exists (torch's too: its CUDA context
        is not the index's memory)."""
        if self.upload is not None:
            self.upload(np.zeros(1, dtype=np.float32))
        self.memory.baseline()

    def build_fields(self) -> dict:
        """Fields of every record of the build point: the GPUs that ran it and what the index holds there."""
        return {"gpu_model": self.model, "gpus_used": self.gpus,
                **per_device_fields("gpu_index_bytes", self.memory.index_bytes()),
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

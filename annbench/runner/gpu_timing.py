"""Timing on a GPU: every search synchronised before its timer stops, and a device-only time
beside the end-to-end one.

- end-to-end (``qps``, the batch percentiles: what the crossover and every chart use): queries
  handed over in host memory, ``(D, I)`` back in host memory, so the host-to-device and
  device-to-host copies are inside the timer; the GPU is synchronised before it stops.
- device-only (``device_qps``, ``device_batch_p50_ms``): the same rounds, same rule, same
  queries, but the whole permuted query set is uploaded once, untimed, and each batch is a view
  of it on the device; results stay there. Only for backends whose ``device_arrays`` names
  the device (base.py); needs torch with CUDA, else the fields are None.

``device_share`` = end-to-end QPS / device-only QPS: the part of a batch's time the GPU work
itself takes (1.0: copies and host overhead cost nothing; 0.2: they cost four times the search).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from annbench.runner.timing import QueryOrder, Round, Search, TimingRule, time_round


def synced(search: Search, sync: Callable[[], None]) -> Search:
    """``search`` that returns only once the GPU has finished (no timer stops on queued work)."""
    def run(xq, k):
        out = search(xq, k)
        sync()
        return out
    return run


def takes_device_arrays(cls: type, device: str) -> bool:
    """Whether the runner may hand this backend queries already on ``device`` (``device_arrays``,
    optional in the interface: absent means none)."""
    return device in getattr(cls, "device_arrays", ())


class DeviceOrder(QueryOrder):
    """``order``'s permuted rows, uploaded once to the GPU as a torch tensor: batches are views
    of it, the same rows as the host order's batches."""

    def __init__(self, order: QueryOrder, upload: Callable[[np.ndarray], object]) -> None:
        self.n, self.order = order.n, order.order
        self.rows = upload(np.ascontiguousarray(order.rows))


def torch_upload() -> Callable[[np.ndarray], object] | None:
    """A function putting a host array on GPU 0 (torch), or None where torch has no CUDA."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None

    def upload(x: np.ndarray):
        out = torch.from_numpy(x).to("cuda:0")
        torch.cuda.synchronize()
        return out
    return upload


def device_round(search: Search, order: DeviceOrder, nq: int, k: int, rule: TimingRule,
                 sync: Callable[[], None]) -> Round:
    """One device-only round: the same rule as ``time_round`` on device-resident batches."""
    sync()
    return time_round(synced(search, sync), order, nq, k, rule)


def device_fields(rounds: list[Round], qps: float | None) -> dict:
    """The device-only figures of a point from its device rounds (empty list: not measured)."""
    if not rounds:
        return {"device_qps": None, "device_qps_min": None, "device_qps_max": None,
                "device_batch_p50_ms": None, "device_share": None}
    dev_qps = np.array([r.qps for r in rounds])
    p50 = float(np.median(np.concatenate([r.batch_ns for r in rounds])) / 1e6)
    median = float(np.median(dev_qps))
    return {"device_qps": median, "device_qps_min": float(dev_qps.min()), "device_qps_max": float(dev_qps.max()),
            "device_batch_p50_ms": p50, "device_share": None if qps is None else float(qps / median)}

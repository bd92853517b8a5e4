"""Timing of batched search: warm-up, a monotonic clock, repeats until a minimum time.

QPS is queries / wall seconds over all timed batches (not 1 / latency): what a
caller issuing batches of ``nq`` back to back gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Timing:
    I: np.ndarray             # ids of the first timed pass, one row per query
    qps: float
    batch_ms: np.ndarray      # every timed batch, in ms
    wall_s: float
    queries_timed: int

    def summary(self) -> dict:
        p50, p95, p99 = np.percentile(self.batch_ms, [50, 95, 99])
        return {"qps": self.qps, "batch_p50_ms": float(p50), "batch_p95_ms": float(p95),
                "batch_p99_ms": float(p99), "batches_timed": int(self.batch_ms.size),
                "queries_timed": self.queries_timed, "measure_s": self.wall_s}


def batches(n_queries: int, nq: int) -> list[np.ndarray]:
    """Row indices of each batch; every batch holds exactly nq queries, cycling the set if needed,
    and one pass covers every query at least once."""
    count = -(-n_queries // nq)
    return [np.arange(b * nq, (b + 1) * nq) % n_queries for b in range(count)]


def measure(search, xq: np.ndarray, k: int, nq: int, min_time_s: float, sync=None) -> Timing:
    """Time ``search(xq_batch, k)`` over whole passes of the query set until ``min_time_s``.

    ``sync`` (GPU) is called before reading the clock at the end of each batch.
    """
    plan = batches(xq.shape[0], nq)
    inputs = [np.ascontiguousarray(xq[rows]) for rows in plan]
    search(inputs[0], k)  # warm-up: first calls allocate, page in, spin up threads
    if sync:
        sync()
    kept: list[np.ndarray] = []
    times: list[int] = []
    clock = time.perf_counter_ns
    first = True
    start = clock()
    while True:
        for rows, xb_q in zip(plan, inputs):
            t0 = clock()
            _, Ib = search(xb_q, k)
            if sync:
                sync()
            times.append(clock() - t0)
            if first:
                kept.append(Ib)
        first = False
        wall = (clock() - start) / 1e9
        if wall >= min_time_s:
            break
    I = np.full((xq.shape[0], k), -1, dtype=np.int64)
    for rows, Ib in zip(plan, kept):
        I[rows, : Ib.shape[1]] = Ib
    queries = len(times) * nq
    return Timing(I, queries / wall, np.asarray(times) / 1e6, wall, queries)

"""Timing of batched search: warm-up, a monotonic clock, repeats until a minimum time.

QPS is queries / wall seconds over all timed batches (not 1 / latency): what a
caller issuing batches of ``nq`` back to back gets. Timing runs over whole
passes of the query set while they fit in the measuring time; a slow setting
(exact search one query at a time) stops after ``min_batches`` batches once
``min_time_s`` has passed, and the queries it did not reach are searched
afterwards, untimed, on the same index with the same settings, so that recall
always covers the whole query set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

FILL_BATCH = 1000  # batch size of the untimed search that completes the ids for recall


@dataclass
class Timing:
    I: np.ndarray             # ids for every query, one row per query
    qps: float
    batch_ms: np.ndarray      # every timed batch, in ms
    wall_s: float
    queries_timed: int
    queries_searched: int     # every query the index saw: warm-up, timed and untimed fill

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


def measure(search, xq: np.ndarray, k: int, nq: int, min_time_s: float, min_batches: int = 10,
            sync=None) -> Timing:
    """Time ``search(xq_batch, k)`` until ``min_time_s`` and ``min_batches`` are both reached,
    stopping at the end of a pass when a pass fits. ``sync`` (GPU) is called before each stop of the clock."""
    plan = batches(xq.shape[0], nq)
    inputs = [np.ascontiguousarray(xq[rows]) for rows in plan]
    search(inputs[0], k)  # warm-up: first calls allocate, page in, spin up threads
    if sync:
        sync()
    kept: list[np.ndarray] = []
    times: list[int] = []
    clock = time.perf_counter_ns
    limit_ns, per_pass = int(min_time_s * 1e9), len(inputs)
    start = clock()
    i = 0
    while True:
        t0 = clock()
        _, Ib = search(inputs[i % per_pass], k)
        if sync:
            sync()
        t1 = clock()
        times.append(t1 - t0)
        i += 1
        if i <= per_pass:
            kept.append(Ib)
        # stop at the end of a pass, or inside the first one when it does not fit the time
        if t1 - start >= limit_ns and (i % per_pass == 0 or (i < per_pass and i >= min_batches)):
            break
    wall_ns = clock() - start
    queries = len(times) * nq
    I, filled = _all_ids(search, xq, k, plan, kept)
    return Timing(I, queries / (wall_ns / 1e9), np.asarray(times) / 1e6, wall_ns / 1e9, queries,
                  len(inputs[0]) + queries + filled)


def _all_ids(search, xq: np.ndarray, k: int, plan: list[np.ndarray], kept: list[np.ndarray]
             ) -> tuple[np.ndarray, int]:
    """Ids for every query (from the timed batches, the rest searched untimed), and how many were searched here."""
    I = np.full((xq.shape[0], k), -1, dtype=np.int64)
    done = np.zeros(xq.shape[0], dtype=bool)
    for rows, Ib in zip(plan, kept):
        I[rows, : Ib.shape[1]] = Ib
        done[rows] = True
    rest = np.flatnonzero(~done)
    for s in range(0, rest.size, FILL_BATCH):
        rows = rest[s:s + FILL_BATCH]
        _, Ib = search(np.ascontiguousarray(xq[rows]), k)
        I[rows, : Ib.shape[1]] = Ib
    return I, int(rest.size)

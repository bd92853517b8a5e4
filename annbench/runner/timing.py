"""Timing of batched search: one rule for every setting, in rounds.

The rule (``RULE``, stored in every record's key):

- The timed queries follow one seeded random permutation of the query set,
  the same for every setting, round and batch size. Batch ``i`` holds the
  ``nq`` queries at positions ``i*nq ... i*nq + nq - 1`` of the permutation,
  read cyclically, so a batch never holds a query twice (``nq`` larger than
  the query set is refused upstream) and a setting that is timed on fewer
  queries than the set holds is timed on a random sample of it, not a prefix.
- A round starts with one untimed warm-up batch (the last ``nq`` queries of
  the permutation: first calls allocate, page in, spin up threads), then
  times batches from position 0 and stops at the first batch boundary where
  both its share of the measuring time and its share of the minimum batch
  count are reached. Every round of a point times the same queries unless
  the machine's speed changed in between.
- A point is measured in ``repeats`` rounds, interleaved with the other
  settings of its build (the worker's loop), so drift in machine load hits
  every setting alike; its QPS is the median of the rounds' QPS, with their
  minimum and maximum as the spread.

QPS is queries / wall seconds over a round's timed batches (not 1 / latency):
what a caller issuing batches of ``nq`` back to back gets. Recall always
covers the whole query set: the queries the first round did not reach are
searched afterwards, untimed, on the same index with the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from annbench.results.schema import PERCENTILE_MIN_BATCHES

RULE = "seeded-permutation-cyclic/1"  # change it whenever the rule above changes
FILL_BATCH = 1000                     # batch size of the untimed search that completes the ids for recall

Search = Callable[[np.ndarray, int], tuple]
Clock = Callable[[], int]


@dataclass(frozen=True)
class TimingRule:
    min_time_s: float = 0.5   # measuring time of a point, shared by its rounds
    repeats: int = 3          # rounds per point
    min_batches: int = 10     # timed batches of a point at the least, shared by its rounds
    seed: int = 0             # of the query permutation

    def key(self) -> dict:
        """What a record's identity holds of the rule: change any of it and the point is new."""
        return {"rule": RULE, "min_time_s": self.min_time_s, "repeats": self.repeats,
                "min_batches": self.min_batches, "seed": self.seed}

    @property
    def round_ns(self) -> int:
        return int(self.min_time_s / self.repeats * 1e9)

    @property
    def round_batches(self) -> int:
        return -(-self.min_batches // self.repeats)


class QueryOrder:
    """The query set in its seeded permutation, stored twice so that every cyclic batch is a view."""

    def __init__(self, xq: np.ndarray, seed: int) -> None:
        self.n = len(xq)
        self.order = np.random.default_rng(seed).permutation(self.n)
        permuted = xq[self.order]
        self.rows = np.concatenate([permuted, permuted])

    def batch(self, i: int, nq: int) -> np.ndarray:
        start = (i * nq) % self.n
        return self.rows[start:start + nq]

    def warmup(self, nq: int) -> np.ndarray:
        return self.rows[self.n - nq:self.n]

    def query_ids(self, i: int, nq: int) -> np.ndarray:
        """The query-set rows of batch ``i``."""
        return self.order[(i * nq + np.arange(nq)) % self.n]


@dataclass
class Round:
    batch_ns: np.ndarray   # every timed batch
    wall_ns: int           # from the first timed batch's start to the last one's end
    cpu_ns: int            # CPU time of this process (all its threads) over the same span
    queries: int           # timed queries
    searched: int          # queries the index saw in this round: warm-up, timed and untimed fill
    started_ns: int = 0    # the clock when timing began (monotonic: orders the rounds of one build point)

    @property
    def qps(self) -> float:
        return self.queries / (self.wall_ns / 1e9)


def time_round(search: Search, order: QueryOrder, nq: int, k: int, rule: TimingRule,
               ids: np.ndarray | None = None, clock: Clock = time.perf_counter_ns,
               cpu_clock: Clock = time.process_time_ns) -> Round:
    """One round of one setting. With ``ids`` (queries x k, filled with -1), the ids the round
    returned for each query are written there, and the queries it did not reach are searched
    untimed to complete them: the first round of a point does this, for recall. The timed span
    only keeps a reference to each result of the first pass over the permutation; they are copied
    into ``ids`` once the clocks have stopped, so the first round times what the others do."""
    search(order.warmup(nq), k)
    times: list[int] = []
    kept: list = []  # the first pass's results, while timed
    keep = ids is not None
    limit_ns, min_batches = rule.round_ns, rule.round_batches
    cpu0, start = cpu_clock(), clock()
    i = 0
    while True:
        t0 = clock()
        _, I = search(order.batch(i, nq), k)
        t1 = clock()
        times.append(t1 - t0)
        if keep:
            kept.append(I)
            keep = (i + 1) * nq < order.n
        i += 1
        if t1 - start >= limit_ns and i >= min_batches:
            break
    wall_ns, cpu_ns = clock() - start, cpu_clock() - cpu0
    for b, I in enumerate(kept):
        ids[order.query_ids(b, nq), : I.shape[1]] = I
    filled = _fill(search, order, k, ids, i * nq) if ids is not None else 0
    return Round(np.asarray(times, dtype=np.int64), wall_ns, cpu_ns, i * nq, nq + i * nq + filled, start)


def search_all(search: Search, order: QueryOrder, k: int, ids: np.ndarray) -> int:
    """Every query, untimed, in batches, its ids written to ``ids``; returns how many were searched."""
    return _fill(search, order, k, ids, 0)


def _fill(search: Search, order: QueryOrder, k: int, ids: np.ndarray, timed: int) -> int:
    """Search, untimed, the queries no timed batch reached; returns how many."""
    if timed >= order.n:
        return 0
    rest = order.order[timed:]
    for s in range(0, rest.size, FILL_BATCH):
        rows = rest[s:s + FILL_BATCH]
        _, I = search(order.rows[timed + s:timed + s + rows.size], k)
        ids[rows, : I.shape[1]] = I
    return int(rest.size)


def percentiles(batch_ms: np.ndarray) -> dict:
    """p50/p95/p99 of the batch latencies, None where too few batches were timed to tell."""
    out = {}
    for p, needed in PERCENTILE_MIN_BATCHES.items():
        out[f"batch_p{p}_ms"] = float(np.percentile(batch_ms, p)) if batch_ms.size >= needed else None
    return out


def summarize(rounds: list[Round]) -> dict:
    """A point's speed fields from its rounds: medians with min-max spread, pooled percentiles."""
    qps = np.array([r.qps for r in rounds])
    batch_ms = np.concatenate([r.batch_ns for r in rounds]) / 1e6
    round_p50 = np.array([np.median(r.batch_ns) / 1e6 for r in rounds])
    util = np.array([r.cpu_ns / r.wall_ns for r in rounds])
    return {
        "qps": float(np.median(qps)), "qps_min": float(qps.min()), "qps_max": float(qps.max()),
        **percentiles(batch_ms),
        "batch_p50_ms_min": float(round_p50.min()), "batch_p50_ms_max": float(round_p50.max()),
        "spread": "min-max over rounds",
        "rounds": [{"qps": r.qps, "queries": r.queries, "batches": int(r.batch_ns.size), "wall_s": r.wall_ns / 1e9,
                    "cpu_s": r.cpu_ns / 1e9, "batch_p50_ms": float(p50), "started_s": r.started_ns / 1e9}
                   for r, p50 in zip(rounds, round_p50)],
        "batches_timed": int(batch_ms.size), "queries_timed": int(sum(r.queries for r in rounds)),
        "measure_s": float(sum(r.wall_ns for r in rounds) / 1e9),
        "cpu_util": float(np.median(util)),
    }

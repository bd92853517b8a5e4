"""One measured point inside the worker: its search, its rounds, its counters, then its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from annbench.runner.timing import QueryOrder, Round, summarize


@dataclass
class Point:
    key: dict
    search: Callable                 # the index's search, or the runner's re-rank around it
    order: QueryOrder
    extra: dict                      # fields of the search stage (rerank_bytes_per_vector)
    rerank_depth: int = 0            # float distances a re-rank computes per query (max(R, k)), 0 without
    rounds: list[Round] = field(default_factory=list)
    ndis: float | None = 0.0         # None once a round ran on an index without a distance counter
    peak_rss: int = 0
    rss_growth: int = 0              # the most a round raised the resident size above where it started
    quality: dict = field(default_factory=dict)
    gpu: object | None = None           # a point on the GPU: its device-only rounds and GPU memory peak
    truth: tuple | None = None       # (neighbors, distances) over a filter's rows; None: the query set's own

    def add_round(self, rnd: Round, before: dict, after: dict, start_rss: int, peak_rss: int) -> None:
        self.rounds.append(rnd)
        self.peak_rss = max(self.peak_rss, peak_rss)
        self.rss_growth = max(self.rss_growth, peak_rss - start_rss)
        if self.ndis is None or "ndis" not in after:
            self.ndis = None
        else:
            self.ndis += after["ndis"] - before.get("ndis", 0) + rnd.searched * self.rerank_depth

    def fields(self) -> dict:
        searched = sum(r.searched for r in self.rounds)
        speed = summarize(self.rounds)
        return {**speed, **self.extra, **self.quality,
                "queries_searched": searched, "peak_rss_search_bytes": self.peak_rss,
                "search_rss_growth_bytes": self.rss_growth,
                "ndis_per_query": None if self.ndis is None else self.ndis / max(1, searched),
                **(self.gpu.fields(speed["qps"]) if self.gpu is not None else {})}


def bytes_per_vector(index_bytes: int | None, nb: int) -> float | None:
    """What the index stores per base vector, all structures included (codes, lists, graph links)."""
    return None if index_bytes is None or nb == 0 else index_bytes / nb


def empty_ids(n: int, k: int) -> np.ndarray:
    return np.full((n, k), -1, dtype=np.int64)

"""Tuning instead of grids: the rule that chooses which of a grid's points ``annbench tune`` measures.

- Search. ``MONOTONE`` names, per index, the search parameter whose larger
  values trade speed for recall. On each build, per recall target in
  ascending order, the sorted candidate values are bisected for the smallest
  whose recall reaches the target. Every probe's recall bounds every target,
  so a value above one that reached the highest target, or below one that
  failed the lowest, is never measured. A candidate's recall is the lowest
  over its nq points; each query set (and re-rank depth, and setting of the
  other search parameters) is bisected on its own. With recall monotone in
  the parameter the answer is exactly the grid's smallest value reaching the
  target, which (speed falling as the parameter grows) is the build's fastest
  setting there: the values the bisection skips are dominated on
  (recall, QPS) by one it measured.
- Builds. Builds run in grid order (values in the order given, the last
  parameter varying fastest). A *line* is the builds that differ in one
  build parameter only. Along a line the best QPS at a target is taken to
  rise to a peak and fall after it, so a line stops at its first build
  dominated by the build before it on the line (``dominated``: not faster at
  any query set, nq and target the earlier one reaches, and reaching no
  other); the builds further along it are never built (``stops``).

A probe's recall is known after its first round; its other rounds run once the
build's bisection is done, interleaved with the other chosen points as a sweep
interleaves them. The winner at each target is what
:func:`annbench.results.select.best` picks from the measured points.
"""

from __future__ import annotations

import json
import math
from typing import Callable

from annbench.errors import UserError

MONOTONE: dict[str, str] = {  # index -> the search parameter that trades recall for speed monotonically
    "ivf_flat": "nprobe", "ivf_sq8": "nprobe", "ivf_pq": "nprobe", "bin_ivf": "nprobe",
    "hnsw": "ef", "bin_hnsw": "ef", "hnswlib": "ef", "nsg": "search_L", "annoy": "search_k",
    "usearch": "expansion_search", "usearch_tanimoto": "expansion_search", "usearch_hamming": "expansion_search",
    "scann": "leaves_to_search",
}
DEFAULT_RANGE: dict[str, tuple[int, int]] = {  # candidates bisected when none are given: ladder(low, high)
    "nprobe": (1, 256), "ef": (16, 1024), "search_L": (16, 1024), "expansion_search": (16, 1024),
    "search_k": (1024, 131072), "leaves_to_search": (1, 256),
}

Best = dict[tuple[str, int, float], float]  # (query_set, nq, target) -> the best QPS reaching the target


def ladder(low: int, high: int) -> list[int]:
    """2^i and 3 * 2^i within [low, high] (16, 24, 32, 48, ...): steps of at most 1.5x."""
    steps = {m << i for m in (2, 3) for i in range(max(high, 1).bit_length())}
    return sorted(v for v in steps | {1} if low <= v <= high)


def parameter(index: str) -> str:
    """The search parameter ``tune`` bisects for ``index``; a one-line error when it has none."""
    if index not in MONOTONE:
        raise UserError(f"index {index!r} has no search parameter that trades recall for speed monotonically: "
                        f"sweep it instead (tune knows {', '.join(sorted(MONOTONE))})")
    return MONOTONE[index]


def settings(index: str, searches: list[dict], targets, recall: str) -> dict:
    """The worker's ``tune`` section: parameter, sorted candidate values, sorted targets, recall column."""
    param = parameter(index)
    values = sorted({s[param] for s in searches})
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0]
    if bad:
        raise UserError(f"tune bisects {param} of {index}: its values must be positive numbers, got {bad[0]!r}")
    return {"param": param, "values": values, "targets": sorted(set(targets)), "recall": recall}


def bisect(n: int, targets, recall_of: Callable[[int], float]) -> dict[float, int | None]:
    """Per target, the smallest candidate (an index into the n sorted values) whose recall reaches it,
    None where none does; ``recall_of(i)`` measures candidate i, once."""
    recalls: dict[int, float] = {}
    answers = {}
    for target in sorted(targets):
        while True:
            lo = 1 + max((i for i, r in recalls.items() if r < target), default=-1)
            hi = min((i for i, r in recalls.items() if r >= target), default=n)
            if lo >= hi:
                break
            mid = (lo + hi) // 2
            recalls[mid] = recall_of(mid)
        answers[target] = hi if hi < n else None
    return answers


def candidates(keys: list[dict], param: str, values: list) -> list[list[list[dict]]]:
    """A build's keys as bisections: per query set, re-rank and other search settings, the keys of each
    candidate value (one per nq)."""
    groups: dict[str, list[list[dict]]] = {}
    for key in keys:
        others = {k: v for k, v in key["search"].items() if k != param}
        name = json.dumps([key["query_set"], key["rerank"], others], sort_keys=True, default=str)
        groups.setdefault(name, [[] for _ in values])[values.index(key["search"][param])].append(key)
    return [groups[name] for name in sorted(groups)]


class ProbeFailed(Exception):
    """A candidate's point is stored as failed or skipped: the build gives no recall to bisect on."""


def probe_recall(keys: list[dict], measured: dict[str, dict], lookup: Callable[[dict], dict | None],
                 recall: str) -> float:
    """A candidate's recall: the lowest over its nq points, from the quality of points measured just now
    (``measured``: point id -> quality) or from their stored records."""
    from annbench.results.schema import point_id

    values = []
    for key in keys:
        quality = measured.get(point_id(key)) or lookup(key)
        if quality is None or quality.get("status", "ok") != "ok":
            raise ProbeFailed(key)
        values.append(quality.get(recall))
    usable = all(v is not None and not math.isnan(v) for v in values)
    return min(values) if usable else -math.inf


def tune_build(keys: list[dict], tune: dict, measure: Callable[[list[dict]], dict[str, dict]],
               lookup: Callable[[dict], dict | None]) -> None:
    """Bisect every group of one build. ``measure(keys)`` measures the first round of the keys not
    stored and returns their quality by point id; ``lookup(key)`` reads a stored record (None if none).
    A candidate stored as failed ends the build's bisection: a failure is a result."""
    try:
        for group in candidates(keys, tune["param"], tune["values"]):
            def recall_of(i: int, group=group) -> float:
                return probe_recall(group[i], measure(group[i]), lookup, tune["recall"])

            bisect(len(tune["values"]), tune["targets"], recall_of)
    except ProbeFailed:
        pass


def dominated(before: Best, after: Best) -> bool:
    """Whether ``after`` (a build's best QPS per query set, nq and target) gains nothing on ``before``."""
    return bool(before) and not any(key not in before or qps > before[key] for key, qps in after.items())


def stops(build: dict, order: dict[str, list], tried: dict[str, Best]) -> bool:
    """Whether a line through ``build`` stopped before reaching it. ``order``: each build parameter's
    values in grid order; ``tried``: the best of each build tried so far, by :func:`build_name`."""
    for param, values in order.items():
        line = [tried.get(build_name({**build, param: v})) for v in values[:values.index(build[param])]]
        if any(a is not None and b is not None and dominated(a, b) for a, b in zip(line, line[1:])):
            return True
    return False


def build_name(build: dict) -> str:
    return json.dumps(build, sort_keys=True, default=str)

"""A sweep plan: which build points, and for each the search points, nq values and query sets."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from annbench.backends import registry
from annbench.errors import UserError


@dataclass
class BuildPoint:
    """One index build; everything measured on it shares the build."""

    index: str
    build: dict
    searches: list[dict]
    device: str = "cpu"


@dataclass
class Plan:
    dataset: str                  # path of the dataset file
    dataset_name: str
    query_sets: list[str]
    k: int
    nqs: list[int]
    threads: int
    builds: list[BuildPoint] = field(default_factory=list)
    timeout_s: float = 1800.0
    memory_limit_bytes: int = 0
    min_time_s: float = 0.5
    save_neighbors: bool = False
    blas_threshold: int | None = None
    retry_failed: bool = False    # measure again the points stored as failed or skipped
    dataset_fingerprint: str = ""  # hdf5io.sample_fingerprint of the dataset file, stored in every record

    def keys(self, bp: BuildPoint) -> list[dict]:
        """Every record key this build point produces."""
        return [
            {"dataset": self.dataset_name, "query_set": qs, "index": bp.index, "build": bp.build,
             "search": search, "nq": nq, "k": self.k, "device": bp.device, "threads": self.threads}
            for qs in self.query_sets for search in bp.searches for nq in self.nqs
        ]

    def n_points(self) -> int:
        return sum(len(self.keys(bp)) for bp in self.builds)


def grid(values: dict[str, list]) -> list[dict]:
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


def expand_index(index: str, build: dict[str, list], search: dict[str, list], devices: list[str],
                 nb: int, d: int) -> list[BuildPoint]:
    """Cross the given values with the backend's defaults; check names and combinations."""
    cls = registry.get(index)
    for given, declared, kind in ((build, cls.build_params, "build"), (search, cls.search_params, "search")):
        unknown = set(given) - set(declared)
        if unknown:
            known = ", ".join(declared) or "none"
            raise UserError(f"unknown {kind} parameter(s) for {index}: {', '.join(sorted(unknown))} (known: {known})")
    builds = grid({name: build.get(name, [default]) for name, default in cls.build_params.items()})
    searches = grid({name: search.get(name, [default]) for name, default in cls.search_params.items()})
    for b in builds:
        for s in searches:
            cls.check_params(b, s, nb, d)
    return [BuildPoint(index, b, searches, device) for device in devices for b in builds]

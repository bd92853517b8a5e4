"""A sweep plan: which build points, and for each the search points, re-rank depths, nq values and query sets."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from annbench.backends import registry
from annbench.errors import UserError
from annbench.results.schema import device_label
from annbench.runner.timing import TimingRule


@dataclass
class BuildPoint:
    """One index build; everything measured on it shares the build."""

    index: str
    build: dict
    searches: list[dict]
    device: str = "cpu"
    reranks: list[int] = field(default_factory=lambda: [0])  # the runner's float re-rank of binary codes
    gpus: int = 1                 # GPUs the index is spread over (device gpu; --gpus)
    gpu_mode: str | None = None   # how, past one GPU: "replicate" or "shard" (--gpu-mode)

    def spread(self) -> dict:
        """``gpus`` and ``gpu_mode`` of a point spread over several GPUs, both None on one GPU (or none):
        in the key only where set, so a one-GPU point keeps the id it always had."""
        many = self.gpus != 1
        return {"gpus": self.gpus if many else None, "gpu_mode": self.gpu_mode if many else None}

    def spec(self) -> dict:
        """What a worker is told to build."""
        return {"index": self.index, "build": self.build, "device": self.device, **self.spread()}

    def label(self) -> str:
        """How progress lines and skip lists name the build: index, build parameters, device (and GPU spread)."""
        return f"{self.index} {self.build} {device_label(self.device, self.gpus, self.gpu_mode)}"


@dataclass
class Plan:
    """What the user asked for. :func:`annbench.runner.sweep.run_plan` checks it before anything runs."""

    dataset: str                  # path of the dataset file
    dataset_name: str
    query_sets: list[str]
    k: int
    nqs: list[int]
    threads: int
    builds: list[BuildPoint] = field(default_factory=list)
    timeout_s: float = 1800.0
    memory_limit_bytes: int = 0   # 0: 80% of the machine's memory
    timing: TimingRule = field(default_factory=TimingRule)
    save_neighbors: bool = False
    blas_threshold: int | None = None  # None: BLAS from BLAS_FROM_NQ queries a batch (runner/blas.py), in the installed faiss's unit
    retry_failed: bool = False    # measure again the points stored as failed or skipped
    clients: list = field(default_factory=lambda: [None])  # concurrent clients per point (None: one caller, batches of nq)
    filters: list = field(default_factory=lambda: [None])  # row filters (runner/filters.py) as key dicts (None: every row)

    def __post_init__(self) -> None:
        """A value given twice is one point: ``--nprobe 2,2``, ``--nq 10,10`` or two config entries of one
        build measure it once (builds of the same index, settings and device merge their search settings)."""
        for name in ("query_sets", "nqs", "clients", "filters"):
            if isinstance(getattr(self, name), list):
                setattr(self, name, distinct(getattr(self, name)))
        self.builds = merged(self.builds)

    def keys(self, bp: BuildPoint, env: str, blas_threshold: int | None) -> list[dict]:
        """Every record key this build point produces: its settings, the timing rule, the faiss BLAS
        threshold (None for backends that do not run faiss) and the environment id."""
        rev = revision(bp.index)
        return [
            {"dataset": self.dataset_name, "query_set": qs, "index": bp.index, "build": bp.build,
             "search": search, "rerank": rerank, "nq": nq, "k": self.k, "device": bp.device,
             "threads": self.threads, "timing": self.timing.key(), "blas_threshold": blas_threshold, "env": env,
             "clients": clients, "filter": flt, "revision": rev, **bp.spread()}
            for search in bp.searches for rerank in bp.reranks for qs in self.query_sets for nq in self.nqs
            for flt in self.filters for clients in self.clients
        ]


def revision(index: str) -> int | None:
    """The backend's ``revision`` for a point's key: None at 0, so its points keep the ids they always had."""
    return getattr(registry.get(index), "revision", 0) or None


def distinct(values: list) -> list:
    """``values`` in their order, each once; equal as a point key compares them (dicts by their items)."""
    seen: dict[str, object] = {}
    for v in values:
        seen.setdefault(json.dumps(v, sort_keys=True, default=str), v)
    return list(seen.values())


def merged(builds: list[BuildPoint]) -> list[BuildPoint]:
    """One build point per build (index, settings, device and GPU spread) and set of re-rank depths, in
    first-seen order, holding the search settings of all that share it, each once: a build is built once."""
    out: dict[str, BuildPoint] = {}
    for bp in builds:
        depths = sorted(json.dumps(r, default=str) for r in distinct(bp.reranks))
        same = json.dumps([bp.spec(), depths], sort_keys=True, default=str)
        if same in out:
            out[same].searches = distinct(out[same].searches + bp.searches)
        else:
            out[same] = BuildPoint(bp.index, bp.build, distinct(bp.searches), bp.device, distinct(bp.reranks),
                                   bp.gpus, bp.gpu_mode)
    return list(out.values())


def grid(values: dict[str, list]) -> list[dict]:
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


def check_point(index: str, build: dict, search: dict, nb: int, d: int) -> None:
    """One build and search setting of ``index``: known names, a combination the backend accepts."""
    cls = registry.get(index)
    for given, declared, kind in ((build, cls.build_params, "build"), (search, cls.search_params, "search")):
        unknown = set(given) - set(declared)
        if "rerank" in unknown:
            raise UserError(f"rerank is a stage of the runner, not a {kind} parameter of {index}: "
                            "give it as --rerank (or `rerank:` beside build/search in a config)")
        if unknown:
            known = ", ".join(declared) or "none"
            raise UserError(f"unknown {kind} parameter(s) for {index}: {', '.join(sorted(unknown))} (known: {known})")
    cls.check_params(build, search, nb, d)


def spreads(device: str, gpus: list, modes: list) -> list[tuple]:
    """Where the build points of ``device`` live: one GPU count each (the CPU: 1), crossed with the modes
    past one GPU (``(1, None)``: no mode)."""
    if device != "gpu":
        return [(1, None)]
    return [(n, mode) for n in gpus for mode in (modes if n != 1 else [None])]


def expand_index(index: str, build: dict[str, list], search: dict[str, list], devices: list[str],
                 nb: int, d: int, reranks: list[int] | None = None, gpus: list | None = None,
                 gpu_modes: list | None = None) -> list[BuildPoint]:
    """Cross the given values with the backend's defaults, devices and GPU counts; check names and combinations."""
    cls = registry.get(index)
    for kind, given in (("build", build), ("search", search)):
        if empty := sorted(name for name, values in given.items() if not values):
            raise UserError(f"{index}: no values given for {kind} parameter(s) {', '.join(empty)}")
    check_point(index, {n: v[0] for n, v in build.items()}, {n: v[0] for n, v in search.items()}, nb, d)
    builds = grid({name: build.get(name, [default]) for name, default in cls.build_params.items()})
    searches = grid({name: search.get(name, [default]) for name, default in cls.search_params.items()})
    for b in builds:
        for s in searches:
            check_point(index, b, s, nb, d)
    return [BuildPoint(index, b, searches, device, list(reranks or [0]), n, mode)
            for device in devices for n, mode in spreads(device, gpus or [1], gpu_modes or ["replicate"])
            for b in builds]

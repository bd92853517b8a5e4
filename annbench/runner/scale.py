"""The same sweep at several sizes of one base: how the answer moves with n.

Each size is a prefix of the source's base (the first n vectors, with the
source's queries and exact truth over those n: :mod:`annbench.groundtruth.build_prefix`),
made once and kept beside the source; the plan is swept on it into one results
directory, so every point is an ordinary record (its dataset names the size,
``scale_family`` the source) and resumes like any sweep.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from annbench.errors import UserError
from annbench.groundtruth.build_prefix import make_prefix
from annbench.runner.plan import Plan, check_point


def check_sizes(ns: list, nb: int) -> list[int]:
    if not ns or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ns):
        raise UserError(f"--n values must be positive integers, got {ns}")
    if max(ns) > nb:
        raise UserError(f"n={max(ns)} exceeds the {nb} base vectors of the source dataset")
    return sorted(set(ns))


def fitting(plan: Plan, n: int, d: int) -> list[str]:
    """Drop from ``plan`` the settings a base of ``n`` cannot hold (IVF's nlist above n, NSG's search_L
    above it): a build with none left is not built. Returns a line for each setting dropped."""
    dropped, kept = [], []
    for bp in plan.builds:
        fits, refused = [], {}
        for search in bp.searches:
            try:
                check_point(bp.index, bp.build, search, n, d)
                fits.append(search)
            except UserError as exc:
                refused[json.dumps(search, sort_keys=True)] = str(exc)
        if fits:
            bp.searches = fits
            kept.append(bp)
        if not fits and len(set(refused.values())) == 1:  # the build itself: one line
            dropped.append(f"{bp.label()}: {next(iter(refused.values()))}")
        else:
            dropped += [f"{bp.label()} {search}: {why}" for search, why in refused.items()]
    plan.builds = kept
    return dropped


def run_scale(source: str | os.PathLike, ns: list[int], plan_for: Callable[[Path], Plan], results: str,
              datasets_dir: str | os.PathLike, executor=None, log=print) -> list[tuple[int, dict]]:
    """For each n, smallest first: the prefix dataset, then ``plan_for(prefix)`` swept into ``results``.
    Every plan is built (and so checked, at the largest n) before anything is measured; at a smaller n
    the settings its base cannot hold are not measured there (a line says which and why)."""
    from annbench.data.hdf5io import describe
    from annbench.runner.sweep import run_plan

    info = describe(source)
    sizes = check_sizes(ns, info["n"])
    Path(datasets_dir).mkdir(parents=True, exist_ok=True)
    prefixes = []
    for n in sizes:
        path = make_prefix(source, n, datasets_dir)
        plan = plan_for(path)
        prefixes.append((n, path, plan, fitting(plan, n, info["d"])))
    out = []
    for n, path, plan, dropped in prefixes:
        log(f"scale: n={n:,} ({path.name})")
        for line in dropped:
            log(f"scale: n={n:,}: not measured: {line}")
        if plan.builds:
            out.append((n, run_plan(plan, results, executor=executor)))
    return out

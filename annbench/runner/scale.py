"""The same sweep at several sizes of one base: how the answer moves with n.

Each size is a prefix of the source's base (the first n vectors, with the
source's queries and exact truth over those n: :mod:`annbench.groundtruth.build_prefix`),
made once and kept beside the source; the plan is swept on it into one results
directory, so every point is an ordinary record (its dataset names the size,
``scale_family`` the source) and resumes like any sweep.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from annbench.errors import UserError
from annbench.groundtruth.build_prefix import make_prefix
from annbench.runner.plan import Plan


def check_sizes(ns: list, nb: int) -> list[int]:
    if not ns or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ns):
        raise UserError(f"--n values must be positive integers, got {ns}")
    if max(ns) > nb:
        raise UserError(f"n={max(ns)} exceeds the {nb} base vectors of the source dataset")
    return sorted(set(ns))


def run_scale(source: str | os.PathLike, ns: list[int], plan_for: Callable[[Path], Plan], results: str,
              datasets_dir: str | os.PathLike, executor=None, log=print) -> list[tuple[int, dict]]:
    """For each n, smallest first: the prefix dataset, then ``plan_for(prefix)`` swept into ``results``.
    Every plan is built (and so checked) before anything is measured."""
    from annbench.data.hdf5io import describe
    from annbench.runner.sweep import run_plan

    sizes = check_sizes(ns, describe(source)["n"])
    Path(datasets_dir).mkdir(parents=True, exist_ok=True)
    prefixes = []
    for n in sizes:
        path = make_prefix(source, n, datasets_dir)
        prefixes.append((n, path, plan_for(path)))
    out = []
    for n, path, plan in prefixes:
        log(f"scale: n={n:,} ({path.name})")
        out.append((n, run_plan(plan, results, executor=executor)))
    return out

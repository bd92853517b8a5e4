"""The retrieval quality users feel, beside the neighbour recall.

For a query set whose queries have a true match in the base (``QuerySet.pairs``):

- task "paired" (a caption and its image): Recall@1/5/10 of the paired item,
  the fraction of queries whose paired base item is among the first 1, 5, 10
  returned; through the index, and through exact search (the ground truth),
  so that the difference is the loss the index causes, in points;
- task "classification" (labelled images against class-name prompts as the
  base): zero-shot accuracy, the fraction whose first result is the right
  class (and top-5), through the index and through exact search.

Queries without a match (pair -1) are left out of the fractions. A cut-off
deeper than the ids searched (k) is not reported.
"""

from __future__ import annotations

import numpy as np

CUTS = {"paired": (1, 5, 10), "classification": (1, 5)}
PREFIX = {"paired": "paired_r", "classification": "zero_shot_top"}


def hit_rate(I: np.ndarray, pairs: np.ndarray, cut: int) -> float | None:
    """Fraction of the queries with a pair whose paired id is among the first ``cut`` ids of ``I``."""
    has = pairs >= 0
    if not has.any() or I.shape[1] < cut:
        return None
    return float((I[has, :cut] == pairs[has, None]).any(axis=1).mean())


def task_quality(I: np.ndarray, gt_I: np.ndarray, pairs: np.ndarray | None, task: str) -> dict:
    """``{"paired_r1": .., "paired_r1_exact": .., ...}`` (or ``zero_shot_top1``, ...); {} without pairs."""
    if pairs is None or task not in CUTS:
        return {}
    pairs = np.asarray(pairs, dtype=np.int64)
    out: dict[str, float | None] = {"task": task, "n_paired": int((pairs >= 0).sum())}
    for cut in CUTS[task]:
        name = f"{PREFIX[task]}{cut}"
        out[name] = hit_rate(I, pairs, cut)
        out[f"{name}_exact"] = hit_rate(gt_I, pairs, cut)
    return out


def quality_columns(task: str) -> list[tuple[str, str]]:
    """``[(field, field_exact), ...]`` of a task, for summaries and reports."""
    return [(f"{PREFIX[task]}{c}", f"{PREFIX[task]}{c}_exact") for c in CUTS.get(task, ())]


def describe(task: str) -> str:
    return {"paired": "R@{cut} of the paired item", "classification": "zero-shot accuracy (top-{cut})"}[task]


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value == value else None


def quality_text(row) -> str | None:
    """``R@1/5/10 of the paired item 0.300/0.540/0.630 (exact 0.310/0.550/0.640: -1.0/-1.0/-1.0 points)``,
    or the zero-shot accuracy, for a result row (a dict or a pandas row); None without a task."""
    task = row.get("task") if hasattr(row, "get") else None
    if task not in CUTS:
        return None
    pairs = [(_num(row.get(a)), _num(row.get(b))) for a, b in quality_columns(task)]
    pairs = [(c, a, b) for c, (a, b) in zip(CUTS[task], pairs) if a is not None and b is not None]
    if not pairs:
        return None
    cuts = "/".join(str(c) for c, _, _ in pairs)
    got = "/".join(f"{a:.3f}" for _, a, _ in pairs)
    exact = "/".join(f"{b:.3f}" for _, _, b in pairs)
    loss = "/".join(f"{100 * (a - b):+.1f}" for _, a, b in pairs)
    name = "R@" + cuts + " of the paired item" if task == "paired" else "zero-shot accuracy top-" + cuts
    return f"{name} {got} (exact {exact}: {loss} points)"

"""CLIP geometry statistics of a dataset: the numbers that make an index easy or hard on it.

Every cosine is taken between L2-normalised vectors (a euclidean dataset is
normalised on the fly, in blocks, and the output says so). Means, and so the
mean pair cosines and the modality gap, use every vector: the mean cosine over
all distinct pairs of unit vectors is ``(n^2 |m|^2 - n) / (n (n - 1))`` with
``m`` their mean, so no pair sampling is needed. The variance spectrum uses a
random sample of ``sample`` rows; nearest-neighbour figures use ``probes``
random rows, each searched exhaustively against the whole set.
"""

from __future__ import annotations

import numpy as np

from annbench.data.model import Dataset
from annbench.errors import UserError

BLOCK = 16384    # rows of a set normalised and scored at a time (bounds memory)
TOP = 10         # depth of the best-match statistics ("10th best")
VAR_SHARE = 0.9  # share of the variance that ``dims90`` counts dimensions for


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.float32(1e-30))


def _blocks(x: np.ndarray):
    """Unit rows of ``x`` block by block, with the block's first row id."""
    for start in range(0, x.shape[0], BLOCK):
        yield start, _unit(x[start:start + BLOCK])


def _mean_unit(x: np.ndarray) -> np.ndarray:
    total = np.zeros(x.shape[1])
    for _, block in _blocks(x):
        total += block.sum(axis=0, dtype=np.float64)
    return total / x.shape[0]


def _pair_cos(mean: np.ndarray, n: int) -> float:
    """Mean cosine over the distinct pairs of a set of unit vectors, from their mean alone."""
    if n < 2:
        return float("nan")
    return float((n * n * (mean @ mean) - n) / (n * (n - 1)))


def _dims_for_variance(x: np.ndarray, share: float = VAR_SHARE) -> int:
    """How many principal directions hold ``share`` of the variance (a CLIP set needs far fewer than d)."""
    if x.shape[0] < 2:
        return 0
    ev = np.linalg.eigvalsh(np.cov(x.astype(np.float64), rowvar=False))[::-1]
    ev = np.clip(ev, 0.0, None)
    return int(np.searchsorted(np.cumsum(ev) / ev.sum(), share) + 1)


def _top_cosines(x: np.ndarray, probes: np.ndarray, k: int, self_ids: np.ndarray | None = None) -> np.ndarray:
    """Exact best ``k`` cosines of each probe among all rows of ``x`` (a probe's own row excluded)."""
    k = min(k, x.shape[0] - (self_ids is not None))
    best = np.full((probes.shape[0], 0), -np.inf, dtype=np.float32)
    for start, block in _blocks(x):
        sims = probes @ block.T
        if self_ids is not None:
            mine = np.nonzero((self_ids >= start) & (self_ids < start + block.shape[0]))[0]
            sims[mine, self_ids[mine] - start] = -np.inf
        both = np.hstack([best, sims])
        keep = min(k, both.shape[1])
        best = np.partition(both, both.shape[1] - keep, axis=1)[:, -keep:]
    return -np.sort(-best, axis=1)


def _sample_ids(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


def _set_stats(x: np.ndarray, modality: str, sample: int, probes: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Statistics of one set on its own; also returns its mean (for the cross-set figures)."""
    n = int(x.shape[0])
    mean = _mean_unit(x)
    ids = _sample_ids(n, probes, rng)
    nn = _top_cosines(x, _unit(x[ids]), 1, self_ids=ids) if n > 1 else np.full((1, 1), np.nan)
    out = {
        "modality": modality,
        "n": n,
        "pair_cos": _pair_cos(mean, n),
        "nn_cos": float(np.mean(nn[:, 0])),
        "mean_norm": float(np.linalg.norm(mean)),
        "outlier": float(np.abs(mean).max()),
        "dims90": _dims_for_variance(_unit(x[_sample_ids(n, sample, rng)])),
    }
    return out, mean


def dataset_stats(ds: Dataset, sample: int = 2000, seed: int = 0, probes: int = 1000) -> dict:
    """Geometry of the base and of each query set, and of each query set against the base.

    ``gap`` is the Euclidean distance between the mean unit vector of the base and
    that of the query set (CLIP's "modality gap": about 0.95 between real CLIP
    image and text vectors). ``best_cos``/``tenth_cos`` are the mean cosine of
    a query's best and 10th-best match in the base; ``spread`` is their
    difference, small when near-ties are common. ``outlier`` is the largest
    coordinate of the mean in absolute value: CLIP puts most of each modality's
    mean on one or two coordinates, which matters to scalar and binary quantisers.
    """
    if ds.point_type == "bit":
        raise UserError(f"dataset {ds.name!r} holds binary codes: geometry statistics are for float vectors")
    if sample < 2 or probes < 1:
        raise UserError(f"sample must be >= 2 and probes >= 1 (got sample={sample}, probes={probes})")
    rng = np.random.default_rng(seed)
    base, base_mean = _set_stats(ds.xb, ds.base_modality, sample, probes, rng)
    sets = {}
    for name, qs in ds.query_sets.items():
        stats, mean = _set_stats(qs.queries, qs.modality, sample, probes, rng)
        ids = _sample_ids(qs.nq, probes, rng)
        top = _top_cosines(ds.xb, _unit(qs.queries[ids]), TOP)
        stats.update(
            cross_cos=float(mean @ base_mean),
            gap=float(np.linalg.norm(mean - base_mean)),
            best_cos=float(top[:, 0].mean()),
            tenth_cos=float(top[:, -1].mean()),
            spread=float((top[:, 0] - top[:, -1]).mean()),
            depth=int(top.shape[1]),
        )
        sets[name] = stats
    return {
        "name": ds.name,
        "metric": ds.metric,
        "d": ds.d,
        "normalised": ds.metric != "angular",
        "sample": sample,
        "probes": probes,
        "seed": seed,
        "base": base,
        "query_sets": sets,
    }


_ROWS = (  # (key, label, format); keys missing from a column print as "-"
    ("n", "vectors", "{:d}"),
    ("pair_cos", "mean cosine, random pair", "{:.3f}"),
    ("nn_cos", "mean cosine, nearest neighbour", "{:.3f}"),
    ("mean_norm", "|mean vector|", "{:.3f}"),
    ("outlier", "largest |coordinate| of the mean", "{:.3f}"),
    ("dims90", "dims holding 90% of variance", "{:d}"),
    ("cross_cos", "mean cosine to the base", "{:.3f}"),
    ("gap", "gap |mean(base) - mean(set)|", "{:.3f}"),
    ("best_cos", "best match in the base", "{:.3f}"),
    ("tenth_cos", "10th best match", "{:.3f}"),
    ("spread", "top-10 spread (best - 10th)", "{:.3f}"),
)


def _cell(col: dict, key: str, fmt: str) -> str:
    value = col.get(key)
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return fmt.format(value)


def format_stats(stats: dict) -> str:
    """A table for ``annbench datasets stats``: one column for the base and one per query set."""
    cols = [("base", stats["base"])] + list(stats["query_sets"].items())
    heads = [f"{name} ({col['modality']})" for name, col in cols]
    cells = [[_cell(col, key, fmt) for _, col in cols] for key, _, fmt in _ROWS]
    label_w = max(len(label) for _, label, _ in _ROWS)
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    how = ("cosines of L2-normalised copies of the vectors (the dataset is euclidean)"
           if stats["normalised"] else "cosines of the unit-norm vectors")
    lines = [
        f"{stats['name']}: {stats['metric']}, d={stats['d']}; {how}",
        f"means over all vectors; variance on {stats['sample']} sampled rows; "
        f"neighbour figures for {stats['probes']} sampled rows searched exhaustively (seed {stats['seed']})",
        "",
        " " * label_w + "  " + "  ".join(h.rjust(w) for h, w in zip(heads, widths)),
    ]
    for (_, label, _), row in zip(_ROWS, cells):
        lines.append(label.ljust(label_w) + "  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)

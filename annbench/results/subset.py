"""Which points a reader asks for by name: ``--dataset``, ``--queries`` and ``--index`` of
``results``, ``summary`` and ``report``, each a list of names (None: every one).

A name the results do not hold is a one-line error that lists the names they do hold, so a
typo never reads as "nothing measured".
"""

from __future__ import annotations

import pandas as pd

from annbench.errors import UserError
from annbench.results.envs import select_environment

OPTIONS = {"dataset": "--dataset", "query_set": "--queries", "index": "--index"}  # column: the option naming it


def select_points(df: pd.DataFrame, dataset: list[str] | None = None, query_set: list[str] | None = None,
                  index: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` whose dataset, query set and index are among the names given."""
    wanted = {"dataset": dataset, "query_set": query_set, "index": index}
    keep = pd.Series(True, index=df.index)
    for col, names in wanted.items():
        if not names or df.empty:
            continue
        held = set(df[col].dropna().astype(str)) if col in df else set()
        unknown = [n for n in names if n not in held]
        if unknown:
            raise UserError(f"{OPTIONS[col]}: the results hold no {', '.join(map(repr, unknown))} "
                            f"(they hold: {', '.join(sorted(held)) or 'nothing'})")
        keep &= df[col].isin(names)
    if len(df) and not keep.any():
        asked = " ".join(f"{OPTIONS[c]} {','.join(n)}" for c, n in wanted.items() if n)
        raise UserError(f"no results match {asked}: each name is there, but not together")
    return df[keep]


def selected(df: pd.DataFrame, machine: str | None = None, env: str | None = None,
             points: dict | None = None) -> pd.DataFrame:
    """The rows of the machine and library versions asked for (:func:`select_environment`), then of the
    datasets, query sets and indexes (``points``: :func:`select_points`'s keywords)."""
    return select_points(select_environment(df, machine, env), **(points or {}))

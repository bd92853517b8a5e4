"""Results as a pandas DataFrame: one row a point, build/search params also flattened."""

from __future__ import annotations

import os

import pandas as pd

from annbench.results.envs import describe_environment
from annbench.results.schema import label, search_label
from annbench.results.store import ResultStore


def distinct_dirs(dirs) -> list:
    """``dirs`` in their order, a directory named twice (``--results r --results ./r/``) once."""
    first: dict[str, object] = {}
    for d in dirs:
        first.setdefault(os.path.realpath(d), d)
    return list(first.values())


def load_results(*dirs: str | os.PathLike) -> pd.DataFrame:
    """Every record of ``dirs`` (each directory once), with ``machine_label`` and ``versions_label`` to
    read them by."""
    rows = []
    for d in distinct_dirs(dirs):
        for rec in ResultStore(d).iter_records():
            row = dict(rec)
            row["results_dir"] = str(d)
            row["build_label"] = label(rec.get("build") or {})
            row["search_label"] = search_label(rec.get("search") or {}, rec.get("rerank") or 0)
            row.update(describe_environment(rec.get("machine"), rec.get("versions")))
            for prefix in ("build", "search"):
                for name, value in (rec.get(prefix) or {}).items():
                    row[f"{prefix}.{name}"] = value
            rows.append(row)
    return pd.DataFrame(rows)

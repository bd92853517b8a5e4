"""Results as a pandas DataFrame: one row a point, build/search params also flattened."""

from __future__ import annotations

import os

import pandas as pd

from annbench.results.schema import label
from annbench.results.store import ResultStore


def load_results(*dirs: str | os.PathLike) -> pd.DataFrame:
    rows = []
    for d in dirs:
        for rec in ResultStore(d).records():
            row = dict(rec)
            row["results_dir"] = str(d)
            row["build_label"] = label(rec.get("build") or {})
            row["search_label"] = label(rec.get("search") or {})
            for prefix in ("build", "search"):
                for name, value in (rec.get(prefix) or {}).items():
                    row[f"{prefix}.{name}"] = value
            rows.append(row)
    return pd.DataFrame(rows)

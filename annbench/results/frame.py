"""Results as a pandas DataFrame: one row a point, build/search params also flattened."""

from __future__ import annotations

import os

import pandas as pd

from annbench.results.envs import describe_environment
from annbench.results.schema import key_of, label, point_id, search_label
from annbench.results.store import ResultStore


def distinct_dirs(dirs) -> list:
    """``dirs`` in their order, a directory named twice (``--results r --results ./r/``) once."""
    first: dict[str, object] = {}
    for d in dirs:
        first.setdefault(os.path.realpath(d), d)
    return list(first.values())


def _lineage(rec: dict) -> str:
    """The point's id but for its backend's revision: the records of one setting measured by older and
    newer code of the backend share it."""
    try:
        return point_id({**key_of(rec), "revision": None})
    except (KeyError, ValueError):  # a record without a full key stands alone
        return str(rec.get("id"))


def load_results(*dirs: str | os.PathLike) -> pd.DataFrame:
    """Every record of ``dirs`` (each directory once), with ``machine_label`` and ``versions_label`` to
    read them by. A record superseded by one of a newer ``revision`` of its backend (the same setting
    measured again after a change to annbench's backend) is left out; its file stays."""
    records = [(d, rec, _lineage(rec)) for d in distinct_dirs(dirs) for rec in ResultStore(d).iter_records()]
    newest: dict[str, int] = {}
    for _, rec, lineage in records:
        newest[lineage] = max(newest.get(lineage, 0), rec.get("revision") or 0)
    rows = []
    for d, rec, lineage in records:
        if (rec.get("revision") or 0) < newest[lineage]:
            continue
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

"""Machines and library versions: results of different ones never share a table or a chart unnoticed.

Every record names its machine and the versions of what ran it (a faiss point
faiss, an hnswlib point hnswlib; both numpy, Python and annbench). Results are
split into *environments*: one per machine, and within a machine one per
version of any library measured at several versions. A point that does not
use that library (hnswlib, when faiss was upgraded) is comparable with
either version, so it appears in each. With one environment nothing is split
and nothing needs saying.
"""

from __future__ import annotations

import itertools

import pandas as pd

UNKNOWN_MACHINE = "unknown machine (record written before annbench stored machines)"


def machine_label(machine: dict | None) -> str:
    if not isinstance(machine, dict):
        return UNKNOWN_MACHINE
    gpus = machine.get("gpus") or []
    parts = [str(machine.get("cpu_model") or "unknown CPU"), f"{machine.get('cores', '?')} cores"]
    return " · ".join(parts + ([", ".join(map(str, gpus))] if gpus else []))


def describe_environment(machine: dict | None, versions: dict | None) -> dict:
    """``machine_label`` and ``versions_label`` (``annbench==0.1.0, faiss-cpu==1.15.1, ...``) of a record."""
    env = ", ".join(str(versions[k]) for k in sorted(versions)) if isinstance(versions, dict) else "unknown versions"
    return {"machine_label": machine_label(machine), "versions_label": env}


def _versions(row) -> dict:
    return row if isinstance(row, dict) else {}


def split(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``[(label, rows)]``: one label per environment ("" when there is only one)."""
    if df.empty or "machine_label" not in df:
        return [("", df)]
    versions = df["versions"] if "versions" in df else pd.Series([{}] * len(df), index=df.index)
    groups = []
    labels = df["machine_label"].fillna(UNKNOWN_MACHINE)
    machines = sorted(labels.unique())
    for machine in machines:
        part = df[labels == machine]
        seen: dict[str, set[str]] = {}
        for v in versions[part.index]:
            for lib, ver in _versions(v).items():
                seen.setdefault(lib, set()).add(ver)
        conflicting = sorted(lib for lib, vers in seen.items() if len(vers) > 1)
        for choice in itertools.product(*(sorted(seen[lib]) for lib in conflicting)):
            chosen = dict(zip(conflicting, choice))
            keep = [all(_versions(v).get(lib, ver) == ver for lib, ver in chosen.items()) for v in versions[part.index]]
            rows = part[keep]
            uses = [any(lib in _versions(v) for lib in chosen) for v in versions[rows.index]]
            if len(rows) and any(uses):
                groups.append((machine, ", ".join(choice), rows))
        if not conflicting:
            groups.append((machine, "", part))
    if len(groups) == 1:
        return [("", groups[0][2])]
    show_machine = len(machines) > 1
    return [(" · ".join(p for p in ((m if show_machine else ""), v) if p) or m, rows) for m, v, rows in groups]


def with_environment(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with an ``environment`` column (rows in several environments repeated, one per environment)."""
    parts = [rows.assign(environment=name) for name, rows in split(df)]
    return pd.concat(parts, ignore_index=True) if parts else df.assign(environment="")


def select_environment(df: pd.DataFrame, machine: str | None = None, env: str | None = None) -> pd.DataFrame:
    """Rows whose machine label contains ``machine`` (or whose machine id is it) and whose versions
    contain ``env`` (or whose environment id is it); case-insensitive."""
    keep = pd.Series(True, index=df.index)
    if machine and not df.empty:
        keep &= df["machine_label"].str.contains(machine, case=False, regex=False) | (_text(df, "machine_id") == machine)
    if env and not df.empty:
        keep &= df["versions_label"].str.contains(env, case=False, regex=False) | (_text(df, "env") == env)
    return df[keep]


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].fillna("").astype(str) if col in df else pd.Series("", index=df.index)

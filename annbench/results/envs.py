"""Machines, library versions and measuring rules: results that differ in them never share a table,
a chart or a recommendation unnoticed.

Every record names its machine, the versions of what ran it (a faiss point
faiss, an hnswlib point hnswlib; both numpy, Python and annbench), the OpenMP
and BLAS variables it ran under, its timing rule and, for faiss, the BLAS
threshold. Results are split into *environments*: one per machine, and within
a machine one per value of any of these facets found at several values. A
point without that facet (an hnswlib point when faiss was upgraded, or when
faiss's BLAS threshold changed) is comparable with either value, so it appears
in each. With one environment nothing is split and nothing needs saying.
"""

from __future__ import annotations

import itertools

import pandas as pd

from annbench.errors import UserError

UNKNOWN_MACHINE = "unknown machine (record written before annbench stored machines)"


def machine_label(machine: dict | None) -> str:
    if not isinstance(machine, dict):
        return UNKNOWN_MACHINE
    gpus = machine.get("gpus") or []
    parts = [str(machine.get("cpu_model") or "unknown CPU"), f"{machine.get('cores', '?')} cores"]
    return " · ".join(parts + ([", ".join(map(str, gpus))] if gpus else []))


def runtime_label(runtime: dict | None) -> str:
    if not isinstance(runtime, dict):
        return "runtime variables unknown"
    return ", ".join(f"{k}={v}" for k, v in sorted(runtime.items())) or "no OpenMP/BLAS variables set"


def timing_label(timing: dict | None) -> str:
    if not isinstance(timing, dict) or not timing:
        return "timing rule unknown"
    return (f"timing {timing.get('rule')}: {timing.get('repeats')} rounds, {timing.get('min_time_s')} s and "
            f">= {timing.get('min_batches')} batches a point, seed {timing.get('seed')}")


def describe_environment(machine: dict | None, versions: dict | None) -> dict:
    """``machine_label`` and ``versions_label`` (``annbench==0.1.0, faiss-cpu==1.15.1, ...``) of a record."""
    env = ", ".join(str(versions[k]) for k in sorted(versions)) if isinstance(versions, dict) else "unknown versions"
    return {"machine_label": machine_label(machine), "versions_label": env}


def facets(row: pd.Series) -> dict[str, str]:
    """What, beside the machine, a point's numbers depend on and others may differ in: ``{facet: value}``."""
    out = {lib: str(v) for lib, v in (row.get("versions") or {}).items()} if isinstance(row.get("versions"), dict) else {}
    out["runtime"] = runtime_label(row.get("runtime"))
    out["timing"] = timing_label(row.get("timing"))
    blas = row.get("blas_threshold")
    if blas is not None and blas == blas:
        out["blas"] = f"faiss BLAS threshold {int(blas)}"
    return out


def _groups(part: pd.DataFrame, machine: str) -> list[tuple[str, str, pd.DataFrame]]:
    rows_facets = [facets(r) for _, r in part.iterrows()]
    seen: dict[str, set[str]] = {}
    for f in rows_facets:
        for name, value in f.items():
            seen.setdefault(name, set()).add(value)
    conflicting = sorted(name for name, values in seen.items() if len(values) > 1)
    if not conflicting:
        return [(machine, "", part)]
    groups = []
    for choice in itertools.product(*(sorted(seen[name]) for name in conflicting)):
        chosen = dict(zip(conflicting, choice))
        keep = [all(f.get(name, value) == value for name, value in chosen.items()) for f in rows_facets]
        members = [f for f, k in zip(rows_facets, keep) if k]
        # a combination is an environment only if each of its values is some point's own value
        if all(any(f.get(name) == value for f in members) for name, value in chosen.items()):
            groups.append((machine, ", ".join(choice), part[keep]))
    return groups


def split(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``[(label, rows)]``: one label per environment ("" when there is only one)."""
    if df.empty or "machine_label" not in df:
        return [("", df)]
    labels = df["machine_label"].fillna(UNKNOWN_MACHINE)
    machines = sorted(labels.unique())
    groups = [g for machine in machines for g in _groups(df[labels == machine], machine)]
    if len(groups) == 1:
        return [("", groups[0][2])]
    show_machine = len(machines) > 1
    return [(" · ".join(p for p in ((m if show_machine else ""), v) if p) or m, rows) for m, v, rows in groups]


def with_environment(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with an ``environment`` column (rows in several environments repeated, one per environment;
    a point read from several results directories counted once)."""
    if "id" in df and len(df):
        df = df.drop_duplicates("id")
    parts = [rows.assign(environment=name) for name, rows in split(df)]
    return pd.concat(parts, ignore_index=True) if parts else df.assign(environment="")


def select_environment(df: pd.DataFrame, machine: str | None = None, env: str | None = None) -> pd.DataFrame:
    """Rows whose machine label contains ``machine`` (or whose machine id is it), and whose versions
    contain ``env`` (or whose environment id is it); a row whose versions do not name the library of
    ``env`` (``faiss-cpu==1.15.1``: faiss) is kept, being comparable with any version of it. Case-insensitive."""
    keep = pd.Series(True, index=df.index)
    if machine and not df.empty:
        keep &= df["machine_label"].str.contains(machine, case=False, regex=False) | (_text(df, "machine_id") == machine)
    if env and not df.empty:
        ids = _text(df, "env")
        if (ids == env).any():
            keep &= ids == env
        else:
            library = env.split("==")[0].split("-")[0].lower()
            labels = df["versions_label"].str.lower()
            keep &= labels.str.contains(env.lower(), regex=False) | ~labels.str.contains(library, regex=False)
    if len(df) and not keep.any():
        machines = "; ".join(sorted(df["machine_label"].dropna().unique()))
        versions = sorted({v for label in df["versions_label"].dropna() for v in label.split(", ")})
        raise UserError(f"no results match --machine {machine!r} --env {env!r} (machines: {machines}; "
                        f"versions: {', '.join(versions)})")
    return df[keep]


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].fillna("").astype(str) if col in df else pd.Series("", index=df.index)

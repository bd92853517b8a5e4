"""Binary codes judged by the float (cosine) truth of the dataset they were made from.

Their rows join that dataset's float rows in one table, each with the bytes a
vector costs: that is the trade a user of binary codes is making.
"""

from __future__ import annotations

import os

import pandas as pd

FLOAT_TRUTH = "recall_float_ties"


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "status" not in df:
        return df.iloc[0:0]
    return df[df["status"] == "ok"]


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(None, index=df.index, dtype=object)


def parent_names(df: pd.DataFrame) -> pd.Series:
    """Per row, the float dataset a binary row's codes were made from (None for float rows).

    Records carry ``parent_dataset``; older ones are looked up in their dataset file.
    """
    from annbench.data.parent import link_of

    cache: dict[str, str | None] = {}

    def lookup(path) -> str | None:
        if not isinstance(path, str) or not os.path.isfile(path):
            return None
        if path not in cache:
            cache[path] = link_of(path).get("parent_name")
        return cache[path]

    recorded = _column(df, "parent_dataset")
    bit = _column(df, "point_type") == "bit"
    paths = _column(df, "dataset_path")
    return pd.Series([(p if isinstance(p, str) and p else lookup(path)) if b else None
                      for p, b, path in zip(recorded, bit, paths)], index=df.index, dtype=object)


def code_name(dataset: str, parent: str) -> str:
    """``clip-synth-sign512`` of parent ``clip-synth`` -> ``sign512``."""
    return dataset[len(parent) + 1:] if dataset.startswith(parent + "-") else dataset


def float_truth_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Ok binary rows renamed into their parent's dataset (index ``bin_hnsw · sign512``), plus the
    parent's float rows; every row's ``recall_float_ties`` is against the same float truth.

    Empty when there are no binary rows with a known parent and a float truth.
    """
    rows = ok_rows(df)
    if rows.empty or FLOAT_TRUTH not in rows:
        return rows.iloc[0:0]
    parents = parent_names(rows)
    bit = rows[parents.notna() & rows[FLOAT_TRUTH].notna()].copy()
    if bit.empty:
        return bit
    bit["code"] = [code_name(d, p) for d, p in zip(bit["dataset"], parents[bit.index])]
    bit["index"] = bit["index"] + " · " + bit["code"]
    bit["dataset"] = parents[bit.index]
    flt = rows[(_column(rows, "point_type") != "bit") & rows["dataset"].isin(set(bit["dataset"]))
               & rows["nq"].isin(set(bit["nq"]))].copy()
    flt[FLOAT_TRUTH] = flt[FLOAT_TRUTH].fillna(flt["recall_ties"])  # float data: its own truth is the float truth
    flt["code"] = None
    return pd.concat([flt, bit], ignore_index=True)


def bytes_label(row: pd.Series) -> str:
    """Bytes per vector the index stores, with the float vectors a re-rank keeps beside the codes."""
    stored = row.get("bytes_per_vector")
    if stored is None or pd.isna(stored):
        return "?"
    rerank_bytes = row.get("rerank_bytes_per_vector")
    extra = f" +{int(rerank_bytes):,} B re-rank" if pd.notna(rerank_bytes) and rerank_bytes else ""
    return f"{stored:,.0f} B{extra}"

"""Integer attributes of the base rows (a category, a shop, a cluster), for filtered search.

Stored as ``annbench/attributes/NAME``: one int64 per base row, in base order, in a
group that ann-benchmarks readers ignore. :mod:`annbench.data.filters` turns a
filter on one of them into the rows it passes.
"""

from __future__ import annotations

import os
import re

import h5py
import numpy as np

from annbench.errors import UserError

GROUP = "annbench/attributes"


def read_attributes(f: h5py.File) -> dict[str, np.ndarray]:
    """Every attribute column of an open dataset file (an empty dict where it has none)."""
    if GROUP not in f:
        return {}
    return {name: f[GROUP][name][()].astype(np.int64) for name in f[GROUP]}


def read_attribute_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    from annbench.data.hdf5io import open_h5

    with open_h5(path) as f:
        return read_attributes(f)


def load_attributes(specs: list[str], nb: int) -> dict[str, np.ndarray]:
    """``["shop=shops.npy", ...]`` (``annbench datasets import --attribute``): one integer .npy per
    name, ``nb`` values each; anything else is a one-line error."""
    from annbench.data.importer import load_npy

    out = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not path:
            raise UserError(f"--attribute {spec!r}: give NAME=FILE.npy (NAME: letters, digits, _)")
        values = load_npy(path, f"attribute {name!r}")
        if values.shape != (nb,) or not np.issubdtype(values.dtype, np.integer):
            raise UserError(f"attribute {name!r}: need {nb} integers (one per base row), got {values.dtype} "
                            f"{values.shape} in {path}")
        out[name] = values.astype(np.int64)
    return out


def write_attribute(f: h5py.File, name: str, values: np.ndarray) -> None:
    """Store one column; it must hold an integer per base row."""
    values = np.asarray(values)
    nb = f["train"].shape[0] if "train" in f else values.shape[0]
    if values.shape != (nb,) or not np.issubdtype(values.dtype, np.integer):
        raise UserError(f"attribute {name!r}: need {nb} integers (one per base row), got {values.dtype} {values.shape}")
    f.require_group(GROUP).create_dataset(name, data=values.astype(np.int64))

"""The link from a binary dataset to the float dataset its codes were made from.

Recall against the float (cosine) truth must not need the parent at run time,
so that truth is copied into the binary file (``neighbors_float`` and
``distances_float`` in each query set's group). Re-ranking does need the
parent's float vectors: the binary file records where the parent was and a
fingerprint of its vectors, and loading checks both, so a parent that moved
without its child, or was rebuilt with other data, is an error and never a
silently wrong re-rank.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from annbench.data.hdf5io import EXT, describe, open_h5, read_dataset
from annbench.data.model import Dataset
from annbench.errors import UserError


def fingerprint(ds: Dataset) -> str:
    """Hash of the vectors as loaded (base, then every query set in order)."""
    h = hashlib.blake2b(digest_size=16)
    for name, x in [("train", ds.xb), *((qs.name, qs.queries) for qs in ds.query_sets.values())]:
        x = np.ascontiguousarray(x)
        h.update(f"{name}:{x.dtype}:{x.shape};".encode())
        h.update(memoryview(x).cast("B"))
    return h.hexdigest()


def link_attrs(parent: Dataset, parent_path: Path, child_path: Path) -> dict:
    """Attributes of the child's ``annbench`` group that find and identify the parent."""
    parent_path = Path(parent_path).resolve()
    rel = os.path.relpath(parent_path, Path(child_path).resolve().parent)
    return {"parent": str(parent_path), "parent_relpath": rel, "parent_name": parent.name,
            "parent_n": parent.nb, "parent_d": parent.d, "parent_metric": parent.metric,
            "parent_fingerprint": fingerprint(parent)}


def _locate(child_path: Path, attrs: dict) -> Path:
    """The recorded absolute path, else the same relative place (a directory moved as a whole)."""
    recorded = Path(str(attrs["parent"]))
    if recorded.is_file():
        return recorded
    beside = Path(child_path).resolve().parent / str(attrs.get("parent_relpath", ""))
    if attrs.get("parent_relpath") and beside.is_file():
        return beside
    raise UserError(f"{child_path}: its float parent {recorded} is gone (moved or deleted); "
                    "re-rank needs it: put it back or binarize again")


def link_of(child_path: str | os.PathLike) -> dict:
    """The child's ``annbench`` attributes (no vectors read)."""
    with open_h5(child_path) as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f[EXT].attrs.items()} if EXT in f else {}


def check_parent(child_path: str | os.PathLike, attrs: dict | None = None) -> Path:
    """Where the parent is, once its n and d match the record (cheap: no vectors read)."""
    child_path = Path(child_path)
    attrs = link_of(child_path) if attrs is None else attrs
    if not attrs.get("parent"):
        raise UserError(f"{child_path}: no float parent recorded (re-rank needs one: make it with "
                        "`annbench datasets binarize`)")
    path = _locate(child_path, attrs)
    info = describe(path)
    if (info["n"], info["d"]) != (int(attrs["parent_n"]), int(attrs["parent_d"])):
        raise UserError(f"{child_path}: parent {path} has n={info['n']} d={info['d']}, the codes were made "
                        f"from n={attrs['parent_n']} d={attrs['parent_d']} (mismatched parent)")
    return path


def load_parent(child_path: str | os.PathLike, attrs: dict | None = None) -> Dataset:
    """The float parent, checked against what the child recorded (n, d, fingerprint of the vectors)."""
    attrs = link_of(child_path) if attrs is None else attrs
    path = check_parent(child_path, attrs)
    parent = read_dataset(path, str(attrs.get("parent_name") or path.stem))
    if fingerprint(parent) != attrs.get("parent_fingerprint"):
        raise UserError(f"{child_path}: parent {path} holds other vectors than the codes were made from "
                        "(fingerprint differs): binarize again")
    return parent


def write_float_truth(group, neighbors: np.ndarray, distances: np.ndarray) -> None:
    """Store the parent's float top-K beside a query set's binary truth."""
    group.create_dataset("neighbors_float", data=neighbors.astype(np.int32))
    group.create_dataset("distances_float", data=distances.astype(np.float32))


def float_truth(path: str | os.PathLike, ds: Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per query set, the float truth ``(I, D)``: a float dataset's own; a binary one's stored copy."""
    if ds.point_type != "bit":
        return {name: (qs.neighbors, qs.distances) for name, qs in ds.query_sets.items()}
    out = {}
    with open_h5(path) as f:
        sets = f[EXT]["query_sets"] if EXT in f and "query_sets" in f[EXT] else {}
        for name in ds.query_sets:
            g = sets[name] if name in sets else None
            if g is not None and "neighbors_float" in g:
                out[name] = (g["neighbors_float"][()].astype(np.int64), g["distances_float"][()].astype(np.float32))
    return out

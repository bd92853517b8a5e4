"""Backend registry: name -> "module:Class", imported lazily so that a missing
optional library disables only its own backends."""

from __future__ import annotations

import importlib

from annbench.errors import UserError

BACKENDS: dict[str, str] = {
    "flat": "annbench.backends.faiss_flat:Flat",
    "ivf_flat": "annbench.backends.faiss_ivf:IVFFlat",
    "ivf_sq8": "annbench.backends.faiss_ivf:IVFSQ8",
    "ivf_pq": "annbench.backends.faiss_ivfpq:IVFPQ",
    "hnsw": "annbench.backends.faiss_hnsw:HNSW",
    "nsg": "annbench.backends.faiss_nsg:NSG",
    "faiss": "annbench.backends.faiss_factory:Factory",
    "hnswlib": "annbench.backends.hnswlib_index:HnswLib",
    "annoy": "annbench.backends.annoy_index:Annoy",
}


def names() -> list[str]:
    return list(BACKENDS)


def get(name: str):
    """The backend class registered as ``name``."""
    if name not in BACKENDS:
        raise UserError(f"unknown index {name!r} (known: {', '.join(BACKENDS)})")
    module, cls = BACKENDS[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise UserError(f"index {name!r} is unavailable: {exc}") from None

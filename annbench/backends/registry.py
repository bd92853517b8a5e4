"""Backend registry: name -> "module:Class", imported lazily so that a missing
optional library disables only its own backends."""

from __future__ import annotations

import importlib
import os

from annbench.errors import UserError

BACKENDS: dict[str, str] = {
    "flat": "annbench.backends.faiss_flat:Flat",
    "ivf_flat": "annbench.backends.faiss_ivf:IVFFlat",
    "ivf_sq8": "annbench.backends.faiss_ivf:IVFSQ8",
    "ivf_pq": "annbench.backends.faiss_ivfpq:IVFPQ",
    # GPU-built (faiss-gpu with cuVS): searched on the GPU, or on the CPU as HNSW (--device cpu)
    "cagra": "annbench.backends.faiss_cagra:Cagra",
    # IVF-SQ8 with the coarse quantizer on the GPU, the lists on the CPU (--device gpu)
    "ivf_sq8h": "annbench.backends.faiss_ivf_sq8h:IVFSQ8H",
    "hnsw": "annbench.backends.faiss_hnsw:HNSW",
    "nsg": "annbench.backends.faiss_nsg:NSG",
    "faiss": "annbench.backends.faiss_factory:Factory",
    "hnswlib": "annbench.backends.hnswlib_index:HnswLib",
    "annoy": "annbench.backends.annoy_index:Annoy",
    # a vector database: Milvus Lite in this process by default, a Milvus server or cluster with uri
    "milvus": "annbench.backends.milvus_index:Milvus",
    "usearch": "annbench.backends.usearch_index:USearch",
    "scann": "annbench.backends.scann_index:ScaNN",
    # binary codes (datasets made by `annbench datasets binarize`, or ann-benchmarks bit sets)
    "bin_flat": "annbench.backends.faiss_binary_flat:BinFlat",
    "bin_ivf": "annbench.backends.faiss_binary_ivf:BinIVF",
    "bin_hnsw": "annbench.backends.faiss_binary_hnsw:BinHNSW",
    "bin_jaccard_flat": "annbench.backends.binary_jaccard_flat:BinJaccardFlat",
    "bin_superstructure": "annbench.backends.binary_substructure:BinSuperstructure",
    "bin_substructure": "annbench.backends.binary_substructure:BinSubstructure",
    "usearch_tanimoto": "annbench.backends.usearch_binary:USearchTanimoto",
    "usearch_hamming": "annbench.backends.usearch_binary:USearchHamming",
}


PLUGINS_ENV = "ANNBENCH_BACKENDS"
# what the runner reads of every backend class (the interface in base.py); a plugin lacking one is refused
REQUIRED = ("name", "metrics", "devices", "build_params", "search_params", "libraries", "adds_in_chunks",
            "trains", "concurrency", "filtering", "check_params")


def _all() -> dict[str, str]:
    """Built-in backends plus plugins named in $ANNBENCH_BACKENDS ("name=module:Class;...").

    Read at call time, so that the sweep's worker processes see the same plugins.
    """
    extra = {}
    for item in os.environ.get(PLUGINS_ENV, "").split(";"):
        if "=" in item:
            name, target = item.split("=", 1)
            extra[name.strip()] = target.strip()
    return {**BACKENDS, **extra}


def names() -> list[str]:
    return list(_all())


def get(name: str):
    """The backend class registered as ``name``."""
    backends = _all()
    if name not in backends:
        raise UserError(f"unknown index {name!r} (known: {', '.join(backends)})")
    module, cls = backends[name].split(":")
    try:
        found = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise UserError(f"index {name!r} is unavailable: {exc}") from None
    missing = [a for a in REQUIRED if not hasattr(found, a)]
    if getattr(found, "filtering", "") and not hasattr(found, "set_filter"):
        missing.append("set_filter (it declares filtering)")
    if missing:
        raise UserError(f"index {name!r} ({backends[name]}) lacks {', '.join(missing)} "
                        "(see annbench/backends/base.py)")
    return found

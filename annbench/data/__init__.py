"""Datasets: the ann-benchmarks HDF5 layout with annbench's CLIP extension."""

from annbench.data.model import Dataset, QuerySet

__all__ = ["Dataset", "QuerySet"]

"""Exact structure filters, as chemical fingerprint search uses them (and Milvus offers them).

``bin_superstructure`` returns the base codes that contain every bit of the
query (``q & b == q``), ``bin_substructure`` those whose bits all lie in the
query (``q & b == b``); the matches are ranked by the dataset's metric
(Tanimoto for jaccard, Hamming for hamming) and the rest of the k slots is -1.
Recall against a k-NN truth says little about a filter: its tests compare
with a brute-force filter instead.

numpy, as bin_jaccard_flat; ndis: nb per query, as there: the filter tests every
base code in the same pass that computes its distance.
"""

from __future__ import annotations

from typing import ClassVar

from annbench.backends.binary_jaccard_flat import BinJaccardFlat
from annbench.backends.binary_scan import Filter


def _contains_query(inter, q_bits, b_bits):
    return inter == q_bits


def _inside_query(inter, q_bits, b_bits):
    return inter == b_bits


class BinSuperstructure(BinJaccardFlat):
    name: ClassVar[str] = "bin_superstructure"
    metrics: ClassVar[tuple[str, ...]] = ("jaccard", "hamming")
    keep: ClassVar[Filter | None] = staticmethod(_contains_query)


class BinSubstructure(BinJaccardFlat):
    name: ClassVar[str] = "bin_substructure"
    metrics: ClassVar[tuple[str, ...]] = ("jaccard", "hamming")
    keep: ClassVar[Filter | None] = staticmethod(_inside_query)

"""What the backends measure besides neighbours: index bytes, distances computed, their libraries.

Every expected ``ndis`` is computed here from the index's own structure (the
lists its quantizer selects, their sizes), not from faiss's counters, and
compared exactly.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from annbench.backends import registry

K = 10
NB, D = 3000, 32


def vectors(n: int, seed: int, d: int = D) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def codes(n: int, seed: int, nbytes: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


XB, XQ = vectors(NB, 0), vectors(50, 1)
CB, CQ = codes(NB, 2), codes(50, 3)


def build(name: str, xb: np.ndarray, build: dict, search: dict, metric: str = "angular", threads: int = 2):
    cls = registry.get(name)
    d = xb.shape[1] * 8 if xb.dtype == np.uint8 else xb.shape[1]
    index = cls(d, metric, "cpu", threads, **build)
    index.train(xb)
    index.add(xb)
    index.set_search_params(**search)
    return index


@functools.lru_cache(maxsize=None)
def _built(name: str, build_items: tuple, metric: str):
    return build(name, CB if metric in ("hamming", "jaccard") else XB, dict(build_items), {}, metric)


def index_for(name: str, build_params: dict, search_params: dict, metric: str = "angular"):
    """A backend built once per module on XB (or CB for a binary metric), set to ``search_params``."""
    index = _built(name, tuple(sorted(build_params.items())), metric)
    index.set_search_params(**search_params)
    return index


def ndis_of(index, xq: np.ndarray, k: int = K) -> int:
    before = index.stats()["ndis"]
    index.search(xq, k)
    return index.stats()["ndis"] - before


def probed(ivf, xq: np.ndarray, nprobe: int) -> np.ndarray:
    """Per query: the entries of the lists the quantizer selects, as faiss's IVF search selects them."""
    _, lists = ivf.quantizer.search(xq, nprobe)
    sizes = np.array([ivf.invlists.list_size(i) for i in range(ivf.nlist)])
    return sizes[lists].sum(axis=1)


# -- index bytes ---------------------------------------------------------------------

FLOAT_BUILDS = [
    ("flat", {}, {}),
    ("ivf_flat", {"nlist": 16}, {"nprobe": 4}),
    ("ivf_sq8", {"nlist": 16}, {"nprobe": 4}),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6, "k_factor": 0}, {"nprobe": 4}),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6, "k_factor": 8}, {"nprobe": 4}),
    ("hnsw", {"M": 8, "ef_construction": 40}, {"ef": 32}),
    ("nsg", {"R": 16}, {"search_L": 32}),
    ("faiss", {"factory": "IVF16,PQ8,RFlat"}, {"params": "nprobe=2"}),
    ("faiss", {"factory": "HNSW8"}, {"params": ""}),
]
BINARY_BUILDS = [
    ("bin_flat", {}, {}),
    ("bin_ivf", {"nlist": 16}, {"nprobe": 4}),
    ("bin_hnsw", {"M": 8, "ef_construction": 40}, {"ef": 32}),
]


@pytest.mark.parametrize("name,build_params,search_params", FLOAT_BUILDS)
def test_index_bytes_equal_the_serialised_size(name, build_params, search_params):
    index = index_for(name, build_params, search_params)
    assert index.stats()["index_bytes"] == faiss.serialize_index(index.index).size


@pytest.mark.parametrize("name,build_params,search_params", BINARY_BUILDS)
def test_binary_index_bytes_equal_the_serialised_size(name, build_params, search_params):
    index = index_for(name, build_params, search_params, metric="hamming")
    assert index.stats()["index_bytes"] == faiss.serialize_index_binary(index.index).size


def test_usearch_bytes_follow_the_storage_dtype():
    """The same graph (USearch draws levels by its own seed) over 4-, 2- and 1-byte components."""
    f32, f16, i8 = (index_for("usearch", {"connectivity": 8, "dtype": t}, {}).stats()["index_bytes"]
                    for t in ("f32", "f16", "i8"))
    assert f32 - f16 == NB * D * 2 and f16 - i8 == NB * D


def test_scann_bytes_hold_the_reorder_vectors_and_the_codes():
    """ScaNN keeps the float vectors for its re-order besides the AH codes: one code a block."""
    coarse, fine = (index_for("scann", {"leaves": 16, "dims_per_block": b}, {}).stats()["index_bytes"]
                    for b in (4, 2))
    assert coarse > XB.nbytes and fine - coarse >= NB * (D // 2 - D // 4) // 2


def test_index_bytes_over_several_writer_chunks():
    """5000 x 128 floats: 2.5 MB, so faiss's writer hands the count three 1 MB chunks or less."""
    index = build("flat", vectors(5000, 4, d=128), {}, {})
    assert index.stats()["index_bytes"] == faiss.serialize_index(index.index).size > 2 << 20


def test_index_bytes_never_serialise_a_copy(monkeypatch):
    indexes = [build(name, XB, b, s) for name, b, s in FLOAT_BUILDS[:7]]  # fresh: no size measured yet
    indexes += [build(name, CB, b, s, metric="hamming") for name, b, s in BINARY_BUILDS]

    def refuse(*args):
        raise AssertionError("index_bytes copied the index into memory")

    monkeypatch.setattr(faiss, "serialize_index", refuse)
    monkeypatch.setattr(faiss, "serialize_index_binary", refuse)
    for index in indexes:
        assert index.stats()["index_bytes"] > 0


# -- ndis: exact counts ----------------------------------------------------------------


@pytest.mark.parametrize("nq", [1, 37])
def test_flat_counts_every_base_vector(nq):
    assert ndis_of(index_for("flat", {}, {}), XQ[:nq]) == nq * NB


@pytest.mark.parametrize("nq", [1, 50])
@pytest.mark.parametrize("nprobe", [1, 3, 16])
@pytest.mark.parametrize("name", ["ivf_flat", "ivf_sq8"])
@pytest.mark.parametrize("metric", ["angular", "euclidean"])
def test_ivf_counts_centroids_and_the_probed_lists(name, metric, nprobe, nq):
    index = index_for(name, {"nlist": 16}, {"nprobe": nprobe}, metric=metric)
    xq = XQ[:nq]
    assert ndis_of(index, xq) == nq * 16 + probed(index.index, xq, nprobe).sum()


def smallest_lists(ivf, nprobe: int) -> int:
    """The codes of the nprobe smallest lists: what every query scans at the least."""
    return int(np.sort([ivf.invlists.list_size(i) for i in range(ivf.nlist)])[:nprobe].sum())


@pytest.mark.parametrize("nq", [1, 50])
@pytest.mark.parametrize("k_factor,nprobe", [(0, 3), (4, 3), (16, 1), (100, 4)])
def test_ivf_pq_counts_centroids_codes_and_the_rerank(k_factor, nprobe, nq):
    """The re-rank scores k * k_factor candidates where every query surely gets that many; else the
    count is unknown and no ndis is given (never a guess)."""
    index = index_for("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6, "k_factor": k_factor}, {"nprobe": nprobe})
    xq = XQ[:nq]
    scanned = probed(index.ivf, xq, nprobe)
    before = index.stats()["ndis"]
    index.search(xq, K)
    if K * k_factor <= smallest_lists(index.ivf, nprobe):
        assert index.stats()["ndis"] - before == nq * 16 + scanned.sum() + nq * K * k_factor
    else:  # ~190 codes per list: 1000 candidates may not be there
        assert k_factor == 100 and "ndis" not in index.stats()
        index.set_search_params(nprobe=nprobe)  # a new setting counts afresh
        assert "ndis" in index.stats()


@pytest.mark.parametrize("metric", ["angular", "euclidean"])
@pytest.mark.parametrize("name,build_params,search_params", [
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6, "k_factor": 100}, {"nprobe": 2}),
    ("ivf_pq", {"nlist": 16, "m": 8, "nbits": 6, "k_factor": 4}, {"nprobe": 16}),
    ("faiss", {"factory": "IVF16,PQ8np,RFlat"}, {"params": "nprobe=3,k_factor_rf=8"}),
    ("faiss", {"factory": "IVF16,PQ8x4fs,Refine(SQ8)"}, {"params": "nprobe=1,k_factor_rf=50"}),
])
def test_a_counted_refine_is_searched_as_faiss_searches_it(name, build_params, search_params, metric):
    """Counting changes nothing of the timed call: the backend returns what faiss's own search returns."""
    index = index_for(name, build_params, search_params, metric=metric)
    D, I = index.search(XQ, K)
    ref_D, ref_I = index.index.search(XQ, K)  # faiss's IndexRefine, with k_factor as set
    np.testing.assert_array_equal(I, ref_I)
    np.testing.assert_array_equal(D, ref_D)
    assert I.shape == (len(XQ), K)


@pytest.mark.parametrize("nq", [1, 50])
@pytest.mark.parametrize("factory,params,k_factor", [
    ("IVF16,Flat", "nprobe=3", 0),
    ("IVF16,PQ8,RFlat", "nprobe=2,k_factor_rf=4", 4),
    ("IVF16,PQ8,RFlat", "nprobe=1,k_factor_rf=100", 100),
    ("IVF16,PQ8,RFlat", "nprobe=3", 1),          # RFlat's default k_factor is 1
    ("IVF16,PQ8x4fs,Refine(SQ8)", "nprobe=2,k_factor_rf=8", 8),
])
def test_factory_counts_centroids_lists_and_refine(factory, params, k_factor, nq):
    index = index_for("faiss", {"factory": factory}, {"params": params})
    ivf = faiss.extract_index_ivf(index.index)
    xq = XQ[:nq]
    scanned = probed(ivf, xq, ivf.nprobe)
    before = index.stats()["ndis"]
    index.search(xq, K)
    if K * k_factor <= smallest_lists(ivf, ivf.nprobe):
        assert index.stats()["ndis"] - before == nq * 16 + scanned.sum() + nq * K * k_factor
    else:
        assert k_factor == 100 and "ndis" not in index.stats()


def test_factory_ivfpqr_counts_its_own_rerank():
    """IVFPQR (``PQ8+16``) re-scores k * k_factor candidates with its second codes, as faiss counts."""
    index = index_for("faiss", {"factory": "IVF16,PQ8+16"}, {"params": "nprobe=2,k_factor=8"}, metric="euclidean")
    scanned = probed(index.index, XQ, 2)
    assert ndis_of(index, XQ) == len(XQ) * 16 + scanned.sum() + np.minimum(K * 8, scanned).sum()


def test_factory_flat_counts_every_base_vector():
    assert ndis_of(index_for("faiss", {"factory": "Flat"}, {"params": ""}), XQ) == len(XQ) * NB


def test_factory_hnsw_quantizer_counts_itself_not_nlist():
    index = index_for("faiss", {"factory": "IVF16_HNSW8,Flat"}, {"params": "nprobe=3"})
    scanned = probed(faiss.extract_index_ivf(index.index), XQ, 3).sum()
    graph = faiss.cvar.hnsw_stats.ndis
    counted = ndis_of(index, XQ)
    assert counted == scanned + (faiss.cvar.hnsw_stats.ndis - graph) + len(XQ)  # + 1 entry point per query


@pytest.mark.parametrize("name,data,metric", [("hnsw", XB, "angular"), ("bin_hnsw", CB, "hamming")])
def test_hnsw_counts_the_entry_point_faiss_leaves_out(name, data, metric):
    """On a one-vector graph the entry point is the only distance: faiss's hnsw_stats counts 0."""
    index = build(name, data[:1], {"M": 8, "ef_construction": 40}, {"ef": 16}, metric=metric)
    xq = XQ if name == "hnsw" else CQ
    graph = faiss.cvar.hnsw_stats.ndis
    assert ndis_of(index, xq) == len(xq)
    assert faiss.cvar.hnsw_stats.ndis == graph


@pytest.mark.parametrize("name", ["hnsw", "bin_hnsw"])
def test_hnsw_counts_grow_with_ef(name):
    data, xq, metric = (XB, XQ, "angular") if name == "hnsw" else (CB, CQ, "hamming")
    index = build(name, data, {"M": 8, "ef_construction": 40}, {"ef": 16}, metric=metric)
    narrow = ndis_of(index, xq)
    index.set_search_params(ef=128)
    assert narrow > 2 * len(xq) and ndis_of(index, xq) > 2 * narrow


@pytest.mark.parametrize("nq", [1, 50])
def test_binary_flat_counts_every_base_code(nq):
    assert ndis_of(index_for("bin_flat", {}, {}, metric="hamming"), CQ[:nq]) == nq * NB


@pytest.mark.parametrize("nq", [1, 50])
@pytest.mark.parametrize("nprobe", [1, 4])
def test_binary_ivf_counts_centroids_and_the_probed_lists(nprobe, nq):
    index = index_for("bin_ivf", {"nlist": 16}, {"nprobe": nprobe}, metric="hamming")
    xq = CQ[:nq]
    assert ndis_of(index, xq) == nq * 16 + probed(index.index, xq, nprobe).sum()


@pytest.mark.parametrize("name", ["bin_jaccard_flat", "bin_superstructure", "bin_substructure"])
def test_numpy_binary_scans_count_every_base_code(name):
    assert ndis_of(index_for(name, {}, {}, metric="jaccard"), CQ) == len(CQ) * NB


def test_usearch_reports_its_own_count():
    index = index_for("usearch_hamming", {"connectivity": 8}, {"expansion_search": 32}, metric="hamming")
    counted = ndis_of(index, CQ)
    assert len(CQ) * K <= counted < len(CQ) * NB


@pytest.mark.parametrize("dtype", ["f32", "f16", "i8"])
def test_usearch_float_reports_its_own_count(dtype):
    index = index_for("usearch", {"connectivity": 8, "dtype": dtype}, {"expansion_search": 32})
    counted = ndis_of(index, XQ)
    assert len(XQ) * K <= counted < len(XQ) * NB


# -- no counter: no ndis ----------------------------------------------------------------

NO_COUNTER = [
    ("nsg", {"R": 16}, {"search_L": 32}),
    ("hnswlib", {"M": 8, "ef_construction": 40}, {"ef": 32}),
    ("annoy", {"n_trees": 4}, {}),
    ("scann", {"leaves": 16}, {"leaves_to_search": 4}),
    ("faiss", {"factory": "PQ4x4"}, {"params": ""}),        # IndexPQ: polysemous search counts otherwise
    ("faiss", {"factory": "IMI2x4,Flat"}, {"params": "nprobe=4"}),  # a multi-index quantizer keeps no count
    ("faiss", {"factory": "IVF16,Flat"}, {"params": "nprobe=2"}),  # the control: this one has it
]


@pytest.mark.parametrize("name,build_params,search_params", NO_COUNTER)
def test_indexes_without_a_counter_report_no_ndis(name, build_params, search_params):
    if name in ("hnswlib", "annoy", "scann") and importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")
    index = index_for(name, build_params, search_params, metric="euclidean")  # IMI: L2 only
    index.search(XQ, K)
    stats = index.stats()
    assert stats["index_bytes"] > 0
    assert ("ndis" in stats) == (build_params.get("factory") == "IVF16,Flat")


# -- libraries ---------------------------------------------------------------------------

EXPECTED_LIBRARIES = {"hnswlib": ("hnswlib",), "annoy": ("annoy",), "usearch_tanimoto": ("usearch",),
                      "usearch_hamming": ("usearch",), "bin_jaccard_flat": ("numpy",),
                      "bin_superstructure": ("numpy",), "bin_substructure": ("numpy",),
                      "usearch": ("usearch",), "scann": ("scann",),
                      "milvus": ("pymilvus", "milvus_lite", "faiss")}  # faiss: Milvus Lite's engine


@pytest.mark.parametrize("name", registry.names())
def test_every_backend_names_the_libraries_it_runs_on(name):
    cls = registry.get(name)
    assert cls.libraries == EXPECTED_LIBRARIES.get(name, ("faiss",))
    assert all(importlib.util.find_spec(lib) is not None for lib in cls.libraries)


def test_the_crashing_plugin_names_numpy(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    monkeypatch.delitem(sys.modules, "crashing", raising=False)
    from crashing import Crashing

    assert Crashing.libraries == ("numpy",)

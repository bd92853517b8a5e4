"""The contract every registered float-vector backend keeps, and its recall at its most accurate setting.

Data: tiny Gaussian sets for the contract, then three realistic sets for recall:
real CLIP text-to-image (cross-modal, near-ties common), a CLIP-like synthetic
set, and SIFT under L2.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED, brute_force

from annbench.backends import registry
from annbench.backends.gpu_common import gpu_count
from annbench.data.synth import sample_clip_synth
from annbench.errors import UserError
from annbench.groundtruth import exact_knn
from annbench.metrics import distances_of, recall_strict

METRICS = ("angular", "euclidean")
GPU_BUILT = ("cagra",)  # built on the GPU even when searched on the CPU
K = 10


def float_backends() -> list[str]:
    """Every registered backend that searches float vectors (binary-code ones have their own tests)."""
    names = []
    for name in registry.names():
        try:
            metrics = registry.get(name).metrics
        except UserError:  # its library is missing: keep it, so that the test reports the skip
            metrics = METRICS
        if set(metrics) & set(METRICS):
            names.append(name)
    return names


NAMES = float_backends()


def accurate(name: str, nb: int, d: int) -> tuple[dict, dict]:
    """The most accurate setting that stays fast at test sizes (exhaustive where the index allows)."""
    nlist = 8 if nb < 1000 else 32
    graph = ({"M": 16, "ef_construction": 100}, {"ef": 200})
    return {
        "ivf_flat": ({"nlist": nlist}, {"nprobe": nlist}),
        "ivf_sq8": ({"nlist": nlist}, {"nprobe": nlist}),
        "ivf_sq8h": ({"nlist": nlist}, {"nprobe": nlist}),
        "cagra": ({"graph_degree": 32, "intermediate_graph_degree": 64}, {"itopk_size": 128}),
        "ivf_pq": ({"nlist": nlist, "m": d // 8, "nbits": 4 if nb < 256 else 5, "k_factor": 50}, {"nprobe": nlist}),
        "hnsw": graph,
        "hnswlib": graph,
        "nsg": ({"R": 32}, {"search_L": min(200, nb)}),
        "faiss": ({"factory": f"IVF{nlist},Flat"}, {"params": f"nprobe={nlist}"}),
        "annoy": ({"n_trees": 20}, {"search_k": 20 * nb}),
        "milvus": ({"index_type": "HNSW", "M": 16, "efConstruction": 100}, {"ef": 200}),  # on Milvus Lite
        "usearch": ({"connectivity": 16, "expansion_add": 100}, {"expansion_search": 200}),
        "scann": ({"leaves": nlist}, {"leaves_to_search": nlist, "reorder": 200}),
    }.get(name, ({}, {}))


def backend_class(name: str):
    try:
        cls = registry.get(name)
    except UserError as exc:  # an optional library that is not installed
        pytest.skip(str(exc))
    if "cpu" not in cls.devices or (name in GPU_BUILT and gpu_count() == 0):
        pytest.skip(f"{name} needs a GPU")
    return cls


def build(name: str, xb: np.ndarray, metric: str, settings: tuple[dict, dict] | None = None):
    cls = backend_class(name)
    build_params, search_params = settings or accurate(name, len(xb), xb.shape[1])
    cls.check_params(build_params, search_params, len(xb), xb.shape[1])
    index = cls(xb.shape[1], metric, "cpu", 2, **build_params)
    index.train(xb)
    index.add(xb)
    index.set_search_params(**search_params)
    return index


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def gaussian(n: int, d: int, seed: int, metric: str) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return unit(x) if metric == "angular" else x


def recall(name: str, xb: np.ndarray, xq: np.ndarray, metric: str) -> float:
    _, gt_I = exact_knn(xb, xq, K, metric)
    _, I = build(name, xb, metric).search(xq, K)
    return float(recall_strict(I, gt_I, K).mean())


# -- the contract ----------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", NAMES)
def test_output_contract(name, metric):
    xb, xq = gaussian(300, 32, 0, metric), gaussian(20, 32, 1, metric)
    D, I = build(name, xb, metric).search(xq, K)
    assert D.shape == I.shape == (20, K)
    assert D.dtype == np.float32 and I.dtype == np.int64
    assert ((I >= 0) & (I < len(xb))).all()
    assert all(len(set(row)) == K for row in I.tolist())
    steps = np.diff(D, axis=1)
    assert (steps >= 0).all() or (steps <= 0).all(), "library distances are not best first"


@pytest.mark.parametrize("name", NAMES)
def test_pads_with_minus_one_past_the_base(name):
    nb = 40
    xb, xq = gaussian(nb, 32, 0, "angular"), gaussian(5, 32, 1, "angular")
    D, I = build(name, xb, "angular").search(xq, nb + 10)
    assert D.shape == I.shape == (5, nb + 10) and I.dtype == np.int64
    assert (I[:, nb:] == -1).all()
    assert ((I >= -1) & (I < nb)).all()
    for row in I.tolist():
        found = [i for i in row if i >= 0]
        assert row[:len(found)] == found, "padding must follow the results"
        assert len(set(found)) == len(found)


@pytest.mark.parametrize("name", ["usearch", "scann"])
def test_one_query_gets_k_columns_padded_past_the_base(name):
    """USearch answers a single query with only the matches it found (not a k-wide batch)."""
    nb = 40
    xb, xq = gaussian(nb, 32, 0, "angular"), gaussian(1, 32, 1, "angular")
    D, I = build(name, xb, "angular").search(xq, nb + 10)
    assert D.shape == I.shape == (1, nb + 10) and D.dtype == np.float32 and I.dtype == np.int64
    assert (I[0, nb:] == -1).all()
    row = I[0].tolist()
    found = [i for i in row if i >= 0]  # a graph may not reach every vector: what it found, then -1
    assert row[:len(found)] == found and len(set(found)) == len(found) and set(found) <= set(range(nb))
    assert len(found) >= nb // 2


@pytest.mark.parametrize("metric", METRICS)
def test_flat_is_exact(metric, unit_data):
    xb, xq = unit_data
    if metric == "euclidean":
        xb, xq = xb * 3.0, xq * 3.0
    ref_D, ref_I = brute_force(xb, xq, K, metric)
    _, I = build("flat", xb, metric).search(xq, K)
    assert recall_strict(I, ref_I, K).min() == 1.0
    dist = distances_of(xb, xq, I, metric)
    assert (np.diff(dist, axis=1) >= -1e-9).all()
    np.testing.assert_allclose(dist, ref_D, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_stats_report_size_and_growing_counters(name):
    xb, xq = gaussian(300, 32, 0, "angular"), gaussian(20, 32, 1, "angular")
    index = build(name, xb, "angular")
    before = index.stats()
    index.search(xq, K)
    after = index.stats()
    assert isinstance(before["index_bytes"], int) and before["index_bytes"] >= xb.nbytes // 8
    assert after["index_bytes"] == before["index_bytes"]
    for key, value in after.items():
        assert value >= before[key], key
    if "ndis" in after:
        assert after["ndis"] > before["ndis"]


def test_ivf_pq_k_factor_reranks_exactly():
    xb, xq = gaussian(2000, 32, 0, "angular"), gaussian(30, 32, 1, "angular")
    D0, I0 = build("ivf_pq", xb, "angular", ({"nlist": 8, "m": 4, "nbits": 6, "k_factor": 0}, {"nprobe": 8})).search(xq, K)
    D1, I1 = build("ivf_pq", xb, "angular", ({"nlist": 8, "m": 4, "nbits": 6, "k_factor": 50}, {"nprobe": 8})).search(xq, K)

    def exact(I):
        return (xq[:, None, :] * xb[I]).sum(-1)

    np.testing.assert_allclose(D1, exact(I1), atol=1e-5)  # re-ranked: the true inner products
    assert np.abs(D0 - exact(I0)).max() > 1e-3            # PQ codes alone: approximate
    _, gt_I = brute_force(xb, xq, K, "angular")
    assert recall_strict(I1, gt_I, K).mean() > recall_strict(I0, gt_I, K).mean()


@pytest.mark.parametrize("factory,params", [("HNSW16", "efSearch=128"), ("IVF8,PQ8x4fs,RFlat", "nprobe=8,k_factor_rf=64")])
def test_factory_passes_parameter_strings(factory, params, unit_data):
    xb, xq = unit_data
    _, gt_I = brute_force(xb, xq, K, "angular")
    _, I = build("faiss", xb, "angular", ({"factory": factory}, {"params": params})).search(xq, K)
    assert recall_strict(I, gt_I, K).mean() >= 0.95


@pytest.mark.parametrize("factory,params", [
    ("IVF16,Flat", "nprobe=16"), ("HNSW16", "efSearch=256"), ("IVF16,PQ8x4fs,RFlat", "nprobe=16,k_factor_rf=16"),
    ("IVF16_HNSW8,Flat", "nprobe=16,quantizer_efSearch=64"), ("IVF16,PQ8np", "nprobe=4,ht=30"),
    ("IVF16,PQ8+16", "nprobe=16,k_factor=64"), ("IVF16,Flat", "nprobe=16,max_codes=50")])
def test_factory_parameters_a_string_does_not_name_run_at_their_defaults(factory, params, unit_data):
    """faiss has no reset: "" after "nprobe=16" must search as "" did, not at nprobe=16."""
    xb, xq = unit_data
    index = build("faiss", xb, "euclidean", ({"factory": factory}, {"params": ""}))  # IVFPQR: L2 only
    _, first = index.search(xq, K)
    index.set_search_params(params=params)
    _, tuned = index.search(xq, K)
    index.set_search_params(params="")
    _, again = index.search(xq, K)
    assert (tuned != first).any() and (again == first).all()


def test_faiss_backends_set_the_thread_count():
    import faiss

    previous = faiss.omp_get_max_threads()
    try:
        for name in ("flat", "ivf_flat", "hnsw", "nsg", "faiss"):
            backend_class(name)(16, "angular", "cpu", 1)
            assert faiss.omp_get_max_threads() == 1, name
            faiss.omp_set_num_threads(previous)
    finally:
        faiss.omp_set_num_threads(previous)


# -- refusals --------------------------------------------------------------------

BAD_PARAMS = [
    ("ivf_flat", {"nlist": 16}, {"nprobe": 17}, 1000),
    ("ivf_flat", {"nlist": 2000}, {"nprobe": 1}, 1000),
    ("ivf_sq8", {"nlist": 16}, {"nprobe": 32}, 1000),
    ("ivf_sq8", {"nlist": 0}, {"nprobe": 1}, 1000),
    ("ivf_pq", {"nlist": 16}, {"nprobe": 17}, 1000),
    ("ivf_pq", {"nbits": 12}, {}, 1000),
    ("ivf_pq", {"k_factor": -1}, {}, 100_000),
    ("hnsw", {"M": 0}, {}, 1000),
    ("hnsw", {}, {"ef": "64"}, 1000),
    ("hnswlib", {}, {"ef": 0}, 1000),
    ("hnswlib", {"ef_construction": 2.5}, {}, 1000),
    ("nsg", {}, {"search_L": 2000}, 1000),
    ("annoy", {"n_trees": 0}, {}, 1000),
    ("annoy", {}, {"search_k": 0}, 1000),
    ("faiss", {"factory": "IVF16,Fltat"}, {}, 1000),
    ("faiss", {"factory": "IVF2048,Flat"}, {}, 1000),
    ("faiss", {"factory": "IVF16,Flat"}, {"params": "nprobe=32"}, 1000),
    ("faiss", {"factory": "HNSW32"}, {"params": "nprobe=8"}, 1000),
    ("faiss", {"factory": "HNSW32"}, {"params": "efSearch"}, 1000),
    ("usearch", {"connectivity": 0}, {}, 1000),
    ("usearch", {}, {"expansion_search": 1.5}, 1000),
    ("usearch", {"dtype": "f64"}, {}, 1000),
    ("scann", {"leaves": 2000}, {}, 1000),
    ("scann", {"leaves": 16}, {"leaves_to_search": 17}, 1000),
    ("scann", {"dims_per_block": 600}, {}, 100_000),
    ("scann", {"aq_threshold": -0.1}, {}, 100_000),
    ("scann", {"aq_threshold": "high"}, {}, 100_000),
    ("scann", {}, {"reorder": 0}, 100_000),
]


@pytest.mark.parametrize("name,build_params,search_params,nb", BAD_PARAMS)
def test_check_params_refuses_impossible_settings(name, build_params, search_params, nb):
    cls = backend_class(name)
    with pytest.raises(UserError) as err:
        cls.check_params(build_params, search_params, nb, 512)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_and_device_are_user_errors(name):
    cls = backend_class(name)
    with pytest.raises(UserError):
        cls.check_params({"no_such_param": 1}, {}, 1000, 512)
    with pytest.raises(UserError):
        cls(32, "angular", "tpu", 1)
    with pytest.raises(UserError):
        cls(32, "hamming", "cpu", 1)


def test_defaults_pass_their_own_check():
    for name in NAMES:
        cls = backend_class(name)
        cls.check_params(dict(cls.build_params), dict(cls.search_params), 1_000_000, 512)


def test_ivf_pq_refuses_a_dimension_that_m_does_not_divide():
    with pytest.raises(UserError, match="multiple of m=64"):
        backend_class("ivf_pq")(100, "angular", "cpu", 1)


def test_faiss_factory_error_is_one_line_from_faiss():
    with pytest.raises(UserError) as err:
        backend_class("faiss")(100, "angular", "cpu", 1, factory="PQ64")
    assert "\n" not in str(err.value) and "multiple" in str(err.value) and ".cpp" not in str(err.value)


# -- recall at the most accurate setting ------------------------------------------


@pytest.fixture(scope="module")
def text_to_image(clip_arrays):
    """Real cross-modal search: 1000 Flickr8k images, 2148 class-name texts as queries."""
    return unit(clip_arrays["images"]), unit(clip_arrays["texts"])


@pytest.fixture(scope="module")
def clip_synth():
    xb, xq_text, xq_image = sample_clip_synth(3000, 100, 512, 0)  # the default geometry (d=512)
    return xb, np.vstack([xq_text, xq_image])


@pytest.fixture(scope="module")
def sift():
    """SIFT under L2: 4900 descriptors as base, 100 held out plus the 3 shipped queries."""
    folder = SHARED / "sift-5k"
    if not (folder / "sift-dataset-5k.tsv").exists():
        pytest.skip(f"SIFT data not found in {folder}")
    rows = np.loadtxt(folder / "sift-dataset-5k.tsv", delimiter="\t", dtype=np.float32)[:, :128]  # last column: id
    queries = np.loadtxt(folder / "sift-query-3.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    return rows[:4900], np.vstack([rows[4900:], queries])


def floor(name: str) -> float:
    return 1.0 if name == "flat" else 0.95  # exact search must find every true neighbour


@pytest.mark.parametrize("name", NAMES)
def test_recall_text_to_image(name, text_to_image):
    xb, xq = text_to_image
    assert recall(name, xb, xq, "angular") >= floor(name)


@pytest.mark.parametrize("name", NAMES)
def test_recall_clip_synth(name, clip_synth):
    xb, xq = clip_synth
    assert recall(name, xb, xq, "angular") >= floor(name)


@pytest.mark.parametrize("name", NAMES)
def test_recall_sift_euclidean(name, sift):
    xb, xq = sift
    assert recall(name, xb, xq, "euclidean") >= floor(name)


# -- recall against the search parameter, on the real CLIP text-to-image set --------

RISING = [  # (index, build, search parameter, its values, recall floor at the last value)
    ("scann", {"leaves": 32}, "leaves_to_search", (1, 4, 16, 32), 0.95),
    ("scann", {"leaves": 32}, "reorder", (10, 30, 100), 0.95),  # all leaves searched: the re-order alone
    ("usearch", {"connectivity": 16, "expansion_add": 100}, "expansion_search", (10, 40, 200), 0.95),
    ("usearch", {"connectivity": 16, "expansion_add": 100, "dtype": "f16"}, "expansion_search", (10, 40, 200), 0.95),
    # i8 rounds CLIP's small components (about 0.04 x 127) coarsely: recall rises, then plateaus near 0.77
    ("usearch", {"connectivity": 16, "expansion_add": 100, "dtype": "i8"}, "expansion_search", (10, 40, 200), 0.7),
]


@pytest.mark.parametrize("name,build_params,param,values,last_floor", RISING)
def test_recall_rises_with_the_search_parameter(name, build_params, param, values, last_floor, text_to_image):
    xb, xq = text_to_image
    _, gt_I = exact_knn(xb, xq, K, "angular")
    full = {"leaves_to_search": build_params.get("leaves")} if param == "reorder" else {}
    index = build(name, xb, "angular", (build_params, {**full, param: values[0]}))
    recalls = []
    for value in values:
        index.set_search_params(**full, **{param: value})
        recalls.append(float(recall_strict(index.search(xq, K)[1], gt_I, K).mean()))
    assert all(a < b for a, b in zip(recalls, recalls[1:])), recalls
    assert recalls[-1] >= last_floor, recalls


def test_usearch_i8_loses_recall_to_f32(text_to_image):
    """The one-byte storage costs recall that no beam width buys back: the test of what i8 measures."""
    xb, xq = text_to_image
    _, gt_I = exact_knn(xb, xq, K, "angular")
    found = {dtype: recall_strict(build("usearch", xb, "angular", ({"dtype": dtype}, {"expansion_search": 200}))
                                  .search(xq, K)[1], gt_I, K).mean() for dtype in ("f32", "i8")}
    assert found["i8"] < found["f32"] - 0.1


def test_scann_threads_change_speed_not_results(unit_data):
    xb, xq = unit_data
    settings = ({"leaves": 16}, {"leaves_to_search": 4, "reorder": 50})
    one, two = (backend_class("scann")(32, "angular", "cpu", t, **settings[0]) for t in (1, 2))
    for index in (one, two):
        index.add(xb)
        index.set_search_params(**settings[1])
    assert np.array_equal(one.search(xq, K)[1], two.search(xq, K)[1])


@pytest.mark.parametrize("name,metric,build_params,message", [
    ("usearch", "euclidean", {"dtype": "i8"}, "angular data only"),
    ("scann", "angular", {"aq_threshold": 1.0}, "below 1 on unit vectors"),
])
def test_settings_impossible_for_a_metric_are_user_errors(name, metric, build_params, message):
    with pytest.raises(UserError, match=message) as err:
        backend_class(name)(32, metric, "cpu", 1, **build_params)
    assert "\n" not in str(err.value)


def _annoy_in_a_child(index, xq, out):
    out.put(index.search(xq, K)[1])


def test_annoy_searches_a_batch_on_its_threads_with_the_librarys_own_answers(unit_data):
    import multiprocessing

    xb, xq = unit_data
    index = backend_class("annoy")(32, "angular", "cpu", 2, n_trees=8)
    index.add(xb)
    index.set_search_params(search_k=200)
    one_by_one = np.array([index.index.get_nns_by_vector(v.tolist(), K, 200) for v in xq], dtype=np.int64)
    for nq in (1, 2, 7, len(xq)):  # a share a thread, the calling thread's first
        assert np.array_equal(index.search(xq[:nq], K)[1], one_by_one[:nq]), nq
    assert index._pool is not None  # the batches above ran on the pool
    # a client forked from the worker after it searched (--clients) starts a pool of its own
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_annoy_in_a_child, args=(index, xq, out))
    child.start()
    assert np.array_equal(out.get(timeout=30), one_by_one)
    child.join(timeout=30)
    assert child.exitcode == 0

"""Exact k-NN ground truth, computed in blocks of the base so memory stays bounded.

Each block of the base goes through faiss's brute-force search (on the GPU when
one is present) for the top ``keep = K + margin`` candidates in float32;
partial lists are merged as blocks stream by. float32 scores carry a provable
error bound (``_tolerance``), so only candidates scored within twice that bound
of the K-th can belong to the true top K: those, and only those, are re-scored
with float64 accumulation and sorted. A query whose ``keep``-th candidate is
still within the bound is searched again with twice the candidates. Ids and
distances therefore match a float64 brute force except between exact ties,
whatever the magnitude of the vectors.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from annbench.data.validate import check_depth

DEFAULT_K = 100
DEFAULT_BLOCK = 65536
GPU_MAX_K = 1024  # the largest k every faiss GPU build selects (CUDA builds: 2048)
RESCORE_CHUNK = 8  # queries per re-score step ...
RESCORE_ROWS = 1024  # ... and at most this many candidate rows: they (and their float64 copy) stay in cache
GATHER_ROWS = 1 << 18  # candidate rows read at once from an on-disk base
# base rows per BLAS call inside faiss's brute force (its default: 1024). Measured on
# 2 cores, d=512, nq=2000: 4096 runs at ~0.9 of the bare sgemm rate, 1024 at ~0.84.
BLAS_DATABASE_BS = 4096
_U = 2.0 ** -24  # float32 unit roundoff


def _margin(k: int) -> int:
    # spare candidates past K, so that near-ties at the boundary rarely need a second pass
    return min(64, 8 + k // 4)


def _tolerance(d: int, qnorm: np.ndarray, max_norm: float, kth: np.ndarray, ip: bool) -> np.ndarray:
    """Twice the worst-case float32 error of a score that can matter, per query.

    A float32 dot product of length d errs by at most about d*u*|x||q|, with
    |x| at most the largest base norm. faiss's L2 (|x|^2 + |q|^2 - 2<x,q>, each
    in float32, rounded twice more) errs by at most (d+4)*u*(|x|+|q|)^2; an item
    that can score near the k-th squared distance ``kth`` has |x| <= |q| + R with
    R^2 about kth, so one far-away vector does not widen every query's bound.
    """
    c = (d + 4) * _U
    if ip:
        return 2 * c * qnorm * max_norm
    kth = np.maximum(kth, 0.0)
    reach = np.sqrt(kth + 2 * c * (2 * qnorm + np.sqrt(kth)) ** 2)  # R, its own error included
    return 2 * c * (qnorm + np.minimum(max_norm, qnorm + reach)) ** 2


def _block_search(xq: np.ndarray, block: np.ndarray, k: int, ip: bool, gpu_res) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    k = min(k, block.shape[0])
    if gpu_res is not None and k <= GPU_MAX_K:
        return faiss.knn_gpu(gpu_res, xq, block, k, metric=metric)
    return faiss.knn(xq, block, k, metric=metric)


def _gpu_resources(use_gpu: bool | None):
    if use_gpu is False:
        return None
    import faiss

    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
        if use_gpu:
            from annbench.errors import UserError

            raise UserError("a GPU was asked for but faiss sees none")
        return None
    return faiss.StandardGpuResources()


def _merge(D: np.ndarray, I: np.ndarray, D2: np.ndarray, I2: np.ndarray, keep: int, ip: bool):
    D = np.hstack([D, D2])
    I = np.hstack([I, I2])
    order = np.argsort(-D if ip else D, axis=1, kind="stable")[:, :keep]
    return np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)


@contextmanager
def _blas_tiles(rows: int):
    """Let faiss's brute force multiply ``rows`` base rows per BLAS call, then restore its setting."""
    import faiss

    old = faiss.cvar.distance_compute_blas_database_bs
    faiss.cvar.distance_compute_blas_database_bs = max(old, rows)
    try:
        yield
    finally:
        faiss.cvar.distance_compute_blas_database_bs = old


def _search(xb, xq: np.ndarray, keep: int, ip: bool, block: int, gpu_res) -> tuple[np.ndarray, np.ndarray, float]:
    """float32 top-``keep`` ``(D, I)`` over the whole base, best first, and the largest base norm."""
    nq = xq.shape[0]
    D = np.zeros((nq, 0), dtype=np.float32)
    I = np.full((nq, 0), -1, dtype=np.int64)
    max_sq = 0.0
    for start in range(0, int(xb.shape[0]), block):
        chunk = np.ascontiguousarray(xb[start:start + block], dtype=np.float32)
        max_sq = max(max_sq, float(np.einsum("ij,ij->i", chunk, chunk).max()))
        Db, Ib = _block_search(xq, chunk, keep, ip, gpu_res)
        D, I = _merge(D, I, Db, Ib + start, keep, ip)
    # the float32 squared norms err by at most d*u relative: round the largest up by that
    return D, I, float(np.sqrt(max_sq * (1 + xq.shape[1] * _U)))


def _candidates(xb, xq: np.ndarray, k: int, ip: bool, block: int, gpu_res):
    """Yield ``(rows, I, width)`` per pass: for those queries, candidate ids best first (float32
    order) holding every possible true top-k item within each row's first ``width`` columns."""
    nb, d = int(xb.shape[0]), xq.shape[1]
    qnorm = np.sqrt(np.einsum("ij,ij->i", xq, xq, dtype=np.float64))
    keep = min(nb, k + _margin(k))
    todo = np.arange(xq.shape[0])
    while todo.size:
        D, I, max_norm = _search(xb, xq[todo], keep, ip, block, gpu_res)
        kth = D[:, k - 1].astype(np.float64)
        tol = _tolerance(d, qnorm[todo], max_norm, kth, ip)[:, None]
        near = D >= (kth[:, None] - tol) if ip else D <= (kth[:, None] + tol)
        width = near.sum(axis=1)
        done = (width < keep) | (keep == nb)
        if done.any():
            yield todo[done], I[done, :int(width[done].max(initial=k))], width[done]
        todo, keep = todo[~done], min(nb, 2 * keep)


def _gather(xb, I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, J)``: an in-memory array and ``I`` re-indexed into it (-1 reads row 0, masked later)."""
    safe = np.where(I >= 0, I, 0)
    if isinstance(xb, np.ndarray):
        return xb, safe
    ids = np.unique(safe)  # h5py reads sorted, distinct rows only
    return np.asarray(xb[ids], dtype=np.float32), np.searchsorted(ids, safe)


def _exact_scores(rows: np.ndarray, J: np.ndarray, I: np.ndarray, xq: np.ndarray, ip: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    """float64 scores (lower is better) of candidates ``J`` for queries ``xq``, sorted, ties by id."""
    vecs = np.asarray(rows[J], dtype=np.float32)  # (nq, c, d)
    if ip:  # float32 products are exact in float64: accumulate there, without a float64 copy
        score = -np.einsum("qcd,qd->qc", vecs, xq, dtype=np.float64)
    else:  # differences, not |x|^2 + |q|^2 - 2<x,q>, which cancels when norms dwarf distances
        diff = vecs.astype(np.float64)
        diff -= xq.astype(np.float64)[:, None, :]
        score = np.sqrt(np.einsum("qcd,qcd->qc", diff, diff))
    score[I < 0] = np.inf
    order = np.lexsort((I, score), axis=-1)
    return np.take_along_axis(score, order, 1), np.take_along_axis(I, order, 1)


def _rescore(xb, xq: np.ndarray, I: np.ndarray, width: np.ndarray, k: int, ip: bool, threads: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 top-k of each query among its first ``width`` candidates."""
    nq = I.shape[0]
    out_s = np.empty((nq, k))
    out_i = np.empty((nq, k), dtype=np.int64)

    def run(rows: np.ndarray, J: np.ndarray, offset: int, q0: int, q1: int) -> None:
        a = q0
        while a < q1:
            widest = max(k, int(width[a:a + RESCORE_CHUNK].max()))  # fewer queries when they need many rows
            b = min(q1, a + max(1, min(RESCORE_CHUNK, RESCORE_ROWS // widest)))
            c = max(k, int(width[a:b].max()))
            s, i = _exact_scores(rows, J[a - offset:b - offset, :c], I[a:b, :c], xq[a:b], ip)
            out_s[a:b], out_i[a:b] = s[:, :k], i[:, :k]
            a = b

    step = max(1, GATHER_ROWS // max(1, I.shape[1]))
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for g0 in range(0, nq, step):  # an on-disk base is read a bounded group of queries at a time
            g1 = min(nq, g0 + step)
            rows, J = _gather(xb, I[g0:g1, :int(width[g0:g1].max(initial=k))])
            bounds = np.linspace(g0, g1, max(1, threads) + 1).astype(int)
            list(pool.map(lambda ab: run(rows, J, g0, ab[0], ab[1]), zip(bounds[:-1], bounds[1:])))
    return out_s, out_i


def _threads() -> int:
    import faiss

    return faiss.omp_get_max_threads()


def _block_rows(xb, block: int | None, gpu: bool) -> int:
    """Base rows per faiss call: on the CPU the whole base when it is already a float32 C
    array in memory (faiss reads it in place: no copy to bound), else ``DEFAULT_BLOCK``
    (each block is copied, and on the GPU held in device memory)."""
    if block is not None:
        return block
    if not gpu and isinstance(xb, np.ndarray) and xb.dtype == np.float32 and xb.flags.c_contiguous:
        return max(1, int(xb.shape[0]))
    return DEFAULT_BLOCK


def exact_knn(xb, xq: np.ndarray, k: int = DEFAULT_K, metric: str = "angular",
              block: int | None = None, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(D, I)``: ids best first and ann-benchmarks distances (1 - cos, or L2).

    ``xb`` may be any array-like with row slicing (a numpy array or an h5py dataset);
    angular vectors must already be unit-norm. ``block`` base rows are read per step
    (default: see ``_block_rows``).
    """
    k = check_depth(k, int(xb.shape[0]))
    ip = metric == "angular"
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    score = np.empty((xq.shape[0], k))
    ids = np.empty((xq.shape[0], k), dtype=np.int64)
    gpu_res = _gpu_resources(use_gpu) if xq.shape[0] else None
    with _blas_tiles(BLAS_DATABASE_BS):
        passes = _candidates(xb, xq, k, ip, _block_rows(xb, block, gpu_res is not None), gpu_res)
        for rows, I, width in passes:  # most queries in the first pass; hard ones later, with more candidates
            score[rows], ids[rows] = _rescore(xb, xq[rows], I, width, k, ip, _threads())
    dist = 1.0 + score if ip else score
    return dist.astype(np.float32), ids

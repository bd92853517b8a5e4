"""Exact k-NN ground truth, computed in blocks of the base so memory stays bounded.

Each block of the base goes through faiss's brute-force search (on the GPU when
one is present); partial top-K lists are merged as blocks stream by. The final
candidates are re-scored in float64, so ids and distances match a float64 brute
force except between exact ties, whatever the magnitude of the vectors.
"""

from __future__ import annotations

import numpy as np

from annbench.data.validate import check_depth

DEFAULT_K = 100
DEFAULT_BLOCK = 65536


def _margin(k: int) -> int:
    # float32 scores can swap near-ties at the boundary: keep a few spare candidates
    return min(64, 8 + k // 4)


def _block_search(xq: np.ndarray, block: np.ndarray, k: int, ip: bool, gpu_res) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    k = min(k, block.shape[0])
    if gpu_res is not None:
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


def _gather(xb, Iq: np.ndarray) -> np.ndarray:
    """The candidate vectors, float32, one row per (query, candidate); -1 reads row 0 (masked later)."""
    safe = np.where(Iq >= 0, Iq, 0)
    if isinstance(xb, np.ndarray):
        return np.asarray(xb[safe], dtype=np.float32)
    rows = np.unique(safe)  # h5py reads sorted, distinct rows only
    return np.asarray(xb[rows], dtype=np.float32)[np.searchsorted(rows, safe)]


def _rescore(xb, xq: np.ndarray, I: np.ndarray, k: int, ip: bool, chunk: int = 256
             ) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 scores of the candidates, sorted best first (ties by id)."""
    out_s = np.empty((I.shape[0], k))
    out_i = np.empty((I.shape[0], k), dtype=np.int64)
    for q0 in range(0, I.shape[0], chunk):
        Iq = I[q0:q0 + chunk]
        vecs = _gather(xb, Iq)  # (nq, c, d)
        q = xq[q0:q0 + chunk]
        # float32 products are exact in float64: accumulate there, without a float64 copy
        dot = np.einsum("qcd,qd->qc", vecs, q, dtype=np.float64)
        if ip:
            score = -dot
        else:
            sq = np.einsum("qcd,qcd->qc", vecs, vecs, dtype=np.float64) - 2 * dot
            score = np.sqrt(np.maximum(sq + np.einsum("qd,qd->q", q, q, dtype=np.float64)[:, None], 0.0))
        score[Iq < 0] = np.inf
        order = np.lexsort((Iq, score), axis=-1)[:, :k]
        out_s[q0:q0 + chunk] = np.take_along_axis(score, order, 1)
        out_i[q0:q0 + chunk] = np.take_along_axis(Iq, order, 1)
    return out_s, out_i


def exact_knn(xb, xq: np.ndarray, k: int = DEFAULT_K, metric: str = "angular",
              block: int = DEFAULT_BLOCK, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(D, I)``: ids best first and ann-benchmarks distances (1 - cos, or L2).

    ``xb`` may be any array-like with row slicing (a numpy array or an h5py dataset);
    angular vectors must already be unit-norm.
    """
    nb = int(xb.shape[0])
    k = check_depth(k, nb)
    ip = metric == "angular"
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    keep = min(nb, k + _margin(k))
    gpu_res = _gpu_resources(use_gpu)
    nq = xq.shape[0]
    D = np.full((nq, 0), 0, dtype=np.float32)
    I = np.full((nq, 0), -1, dtype=np.int64)
    for start in range(0, nb, block):
        chunk = np.ascontiguousarray(xb[start:start + block], dtype=np.float32)
        Db, Ib = _block_search(xq, chunk, keep, ip, gpu_res)
        D, I = _merge(D, I, Db, Ib + start, keep, ip)
    score, I = _rescore(xb, xq, I, k, ip)
    dist = 1.0 + score if ip else score
    return dist.astype(np.float32), I.astype(np.int64)

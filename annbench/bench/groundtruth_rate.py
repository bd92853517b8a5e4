"""Ground-truth speed as a fraction of this machine's float32 matrix-multiply rate (goal >= 0.8).

Both are measured here, in one run, on the same shapes: the matrix product that
brute force cannot avoid (nq x d times d x nb) against the whole exact top-K
computation (blocks through faiss, merge, float64 re-score).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from annbench.groundtruth import DEFAULT_BLOCK, exact_knn


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_seconds(xq: np.ndarray, xb: np.ndarray, block: int, repeats: int) -> float:
    def run():
        for s in range(0, xb.shape[0], block):
            xq @ xb[s:s + block].T
    return _best_of(run, repeats)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nb", type=int, default=200_000)
    p.add_argument("--nq", type=int, default=2000)
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((args.nb, args.d), dtype=np.float32)
    xq = rng.standard_normal((args.nq, args.d), dtype=np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    flops = 2.0 * args.nq * args.nb * args.d
    t_mm = matmul_seconds(xq, xb, DEFAULT_BLOCK, args.repeats)
    t_gt = _best_of(lambda: exact_knn(xb, xq, args.k, "angular"), args.repeats)
    print(f"shape: nq={args.nq} nb={args.nb} d={args.d} K={args.k}")
    print(f"matrix multiply (numpy float32): {flops / t_mm / 1e9:8.1f} GFLOP/s  ({t_mm:.3f} s)")
    print(f"exact ground truth (annbench):   {flops / t_gt / 1e9:8.1f} GFLOP/s  ({t_gt:.3f} s)")
    print(f"ground-truth rate / matmul rate: {t_mm / t_gt:.2f}  (goal >= 0.8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

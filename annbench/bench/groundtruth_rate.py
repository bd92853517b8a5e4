"""Ground-truth speed as a fraction of this machine's float32 matrix-multiply rate (goal >= 0.8).

Both are measured here, in one run, on the same shapes: the matrix product that
brute force cannot avoid (nq x d times d x nb, as BLAS sgemm into a buffer
allocated once, so page faults do not flatter the ratio) against the whole exact
top-K computation (faiss brute force, merge, float64 re-score). The two alternate
round after round and the figure is the median of each round's ratio, so a
machine that speeds up or slows down during the run moves both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from annbench.groundtruth import exact_knn

TILE = 4096  # base rows per sgemm call of the reference


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def matmul(xq: np.ndarray, xb: np.ndarray, out: np.ndarray) -> None:
    """xq @ xb.T tile by tile into ``out`` (nq x TILE), the bare sgemm work of brute force."""
    for s in range(0, xb.shape[0], TILE):
        tile = xb[s:s + TILE]
        np.matmul(xq, tile.T, out=out[:, :tile.shape[0]])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nb", type=int, default=200_000)
    p.add_argument("--nq", type=int, default=2000)
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--metric", choices=("angular", "euclidean"), default="angular")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((args.nb, args.d), dtype=np.float32)
    xq = rng.standard_normal((args.nq, args.d), dtype=np.float32)
    if args.metric == "angular":
        xb /= np.linalg.norm(xb, axis=1, keepdims=True)
        xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    out = np.empty((args.nq, TILE), dtype=np.float32)
    flops = 2.0 * args.nq * args.nb * args.d
    exact_knn(xb[:TILE], xq, min(args.k, TILE), args.metric)  # warm up threads and allocator
    t_mm, t_gt = [], []
    for _ in range(args.rounds):
        t_mm.append(_seconds(lambda: matmul(xq, xb, out)))
        t_gt.append(_seconds(lambda: exact_knn(xb, xq, args.k, args.metric)))
    ratios = [m / g for m, g in zip(t_mm, t_gt)]
    mm, gt = statistics.median(t_mm), statistics.median(t_gt)
    print(f"shape: nq={args.nq} nb={args.nb} d={args.d} K={args.k} {args.metric}, {args.rounds} alternating rounds")
    print(f"matrix multiply (numpy sgemm):  {flops / mm / 1e9:8.1f} GFLOP/s  (median {mm:.3f} s)")
    print(f"exact ground truth (annbench):  {flops / gt / 1e9:8.1f} GFLOP/s  (median {gt:.3f} s)")
    print("per-round ratios: " + " ".join(f"{r:.2f}" for r in ratios))
    print(f"ground-truth rate / matmul rate: {statistics.median(ratios):.2f}  (median of rounds; goal >= 0.8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

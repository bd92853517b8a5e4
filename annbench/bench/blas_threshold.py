"""From which batch size BLAS pays for faiss's brute force: QPS with BLAS / QPS with faiss's own loops.

The figures behind ``annbench.runner.blas.BLAS_FROM_NQ``. The two paths
alternate in short rounds (drift in machine load hits both alike) and the
figure is the median ratio of each round pair.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from annbench.runner.blas import BLAS_FROM_NQ


def _qps(index, xq: np.ndarray, nq: int, threshold: int, seconds: float) -> float:
    import faiss

    faiss.cvar.distance_compute_blas_threshold = threshold
    index.search(xq[:nq], 10)
    n, start, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        index.search(xq[start:start + nq], 10)
        start, n = (start + nq) % (len(xq) - nq), n + nq
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    import faiss

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nb", type=int, default=100_000)
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--nq", default="2,3,4,5,6,8,10,16,20")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=0.25, help="per round and path")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((args.nb, args.d)).astype(np.float32)
    xq = rng.standard_normal((2000, args.d)).astype(np.float32)
    faiss.normalize_L2(xb)
    faiss.normalize_L2(xq)
    index = faiss.IndexFlatIP(args.d)
    index.add(xb)
    print(f"faiss {faiss.__version__} IndexFlatIP nb={args.nb} d={args.d} k=10; QPS with BLAS / QPS with faiss's "
          f"loops, median of {args.rounds} alternating rounds (annbench uses BLAS from nq={BLAS_FROM_NQ})")
    for threads in (int(t) for t in args.threads.split(",")):
        faiss.omp_set_num_threads(threads)
        cells = []
        for nq in (int(v) for v in args.nq.split(",")):
            ratios = [_qps(index, xq, nq, 0, args.seconds) / _qps(index, xq, nq, 1 << 30, args.seconds)
                      for _ in range(args.rounds)]
            cells.append(f"{nq}: {statistics.median(ratios):.2f}")
        print(f"threads={threads}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

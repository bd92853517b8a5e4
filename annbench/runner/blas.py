"""faiss's switch from its own distance loops to BLAS for brute force, by faiss version.

faiss compares ``distance_compute_blas_threshold`` with the batch: up to
1.13 with the number of queries (default 20), from 1.14.2 with nq x d
(default 128,000, so at d = 512 BLAS only from nq = 250, and exact search at
nq = 100 runs several times slower than it could). annbench sends brute force
to BLAS from ``BLAS_FROM_NQ`` queries a batch, in whichever unit the installed
faiss counts. Measured with faiss-cpu 1.13.2, 1.14.2 and 1.15.1 (nb = 50,000,
d = 512, nq = 40): a threshold of 50 leaves 1.13.2 on its loops and sends
1.14.2 and 1.15.1 to BLAS. Where BLAS starts to pay, faiss 1.15.1, IndexFlatIP,
nb = 100,000, d = 512, 2 cores, QPS with BLAS / without (median of 3):
1 thread nq = 3: 0.91, 4: 1.68, 5: 1.62, 8: 2.83, 20: 4.76; 2 threads nq = 3:
1.02, 4: 0.99, 5: 1.32, 8: 1.40, 20: 2.53.
"""

from __future__ import annotations

import re

BLAS_FROM_NQ = 5
NQ_TIMES_D_SINCE = (1, 14, 2)  # the first faiss release that compares nq * d


def counts_nq_times_d(faiss_version: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", faiss_version)[:3]]
    return tuple(parts + [0] * (3 - len(parts))) >= NQ_TIMES_D_SINCE


def default_threshold(d: int, faiss_version: str) -> int:
    """The threshold that makes faiss use BLAS from ``BLAS_FROM_NQ`` queries a batch."""
    return BLAS_FROM_NQ * d if counts_nq_times_d(faiss_version) else BLAS_FROM_NQ

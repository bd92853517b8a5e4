"""The base as a build reads it: a training sample and chunks, never the whole file at once where the
library can take it in pieces.

Peak memory of a build is then the index, plus the larger of the training
sample (at most ``TRAIN_ROWS`` rows: 2 GiB at d = 512, faiss's k-means itself
keeps at most 256 points per centroid, so nlist up to 4,096 trains on what it
would have sampled anyway) and one chunk of ``ADD_CHUNK`` rows (512 MiB at d = 512). Libraries
that must see the whole base in one call (annoy adds its items and builds the
forest at once; faiss's NSG builds its graph in one call) get it whole: their
backends say so (``adds_in_chunks = False``). Backends that train nothing
(``trains = False``) get no training rows at all.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

TRAIN_ROWS = 1 << 20     # 1,048,576 rows: 256 points per centroid for nlist up to 4,096
ADD_CHUNK = 1 << 18      # 262,144 rows a call to add()
SEED = 0


def training_rows(xb) -> np.ndarray:
    """The whole base when it has at most ``TRAIN_ROWS`` rows, else a seeded sample of that many (in file order)."""
    nb = int(xb.shape[0])
    if nb <= TRAIN_ROWS:
        return np.asarray(xb[0:nb])
    ids = np.sort(np.random.default_rng(SEED).choice(nb, TRAIN_ROWS, replace=False))
    return np.asarray(xb[ids])


def chunks(xb, whole: bool) -> Iterator[np.ndarray]:
    """The base in ``ADD_CHUNK``-row pieces (one piece when ``whole``), read from the file as they go."""
    nb = int(xb.shape[0])
    step = nb if whole else ADD_CHUNK
    for start in range(0, nb, max(step, 1)):
        yield np.asarray(xb[start:start + step])

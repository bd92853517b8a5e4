"""What the usearch backends share: USearch's matches as ``(D, I)``, and its distance count."""

from __future__ import annotations

import numpy as np

from annbench.backends.binary_common import as_result


def matches_result(m, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(D, I, ndis)``, k columns: USearch returns fewer than k matches when its graph reaches fewer
    (a batch says how many in ``counts``; one query's ``Matches`` holds only those), the rest is -1.
    ndis: the distances the search computed."""
    keys, dist = np.atleast_2d(m.keys), np.atleast_2d(m.distances)
    counts = np.atleast_1d(getattr(m, "counts", keys.shape[1]))
    I = np.full((len(keys), k), -1, dtype=np.int64)
    D = np.zeros((len(keys), k), dtype=np.float32)
    I[:, :keys.shape[1]], D[:, :keys.shape[1]] = keys, dist
    I[np.arange(k)[None, :] >= counts[:, None]] = -1
    return (*as_result(D, I), int(m.computed_distances))

"""A brute-force backend that claims a GPU variant whose search takes "device" arrays (loaded through
$ANNBENCH_BACKENDS): with a GPU faked in-process (test_gpu.py), the runner's GPU path (synchronised
searches, device-only rounds, GPU memory fields) runs on a machine without one. The "device" arrays
are numpy arrays here."""

from __future__ import annotations

import numpy as np


class FakeGpuFlat:
    name = "fake_gpu"
    metrics = ("angular",)
    devices = ("cpu", "gpu")
    device_arrays = ("gpu",)
    build_params: dict = {}
    search_params: dict = {}
    libraries = ("numpy",)
    adds_in_chunks = True
    trains = False
    concurrency = "processes"
    filtering = ""  # post-filtered by the runner

    def __init__(self, d, metric, device, threads, **build):
        self.xb = np.zeros((0, d), dtype=np.float32)
        self.device = device

    @classmethod
    def check_params(cls, build, search, nb, d):
        pass

    def train(self, xt):
        pass

    def add(self, xb):
        self.xb = np.vstack([self.xb, xb])

    def set_search_params(self, **params):
        pass

    def search(self, xq, k):
        scores = np.asarray(xq) @ self.xb.T
        I = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, I, 1), I.astype(np.int64)

    def stats(self):
        return {"index_bytes": int(self.xb.nbytes)}

"""A deliberately misbehaving backend (loaded through $ANNBENCH_BACKENDS) for isolation tests.

``mode`` picks how the build goes: "ok" (an exact numpy index), "segv" (a real
segmentation fault), "hang" (never returns), "oom" (allocates until stopped),
"raise" (a Python exception); ``build_delay`` seconds are slept in the build.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np


class Crashing:
    name = "crashing"
    metrics = ("angular", "euclidean")
    devices = ("cpu",)
    build_params = {"mode": "ok", "build_delay": 0.0}
    search_params = {"delay": 0.0}
    libraries = ("numpy",)   # its "ok" mode is a numpy exact scan
    adds_in_chunks = False
    trains = False
    concurrency = "processes"
    filtering = ""  # post-filtered by the runner

    def __init__(self, d, metric, device, threads, mode="ok", build_delay=0.0):
        self.mode, self.xb, self.delay, self.build_delay = mode, None, 0.0, float(build_delay)

    @classmethod
    def check_params(cls, build, search, nb, d):
        pass

    def train(self, xt):
        time.sleep(self.build_delay)
        if self.mode == "segv":
            ctypes.string_at(0)
        if self.mode == "hang":
            while True:
                time.sleep(1)
        if self.mode == "oom":
            hog = []
            while True:
                hog.append(np.ones(64 << 20, dtype=np.uint8))
        if self.mode == "raise":
            raise RuntimeError("backend exploded")

    def add(self, xb):
        self.xb = xb

    def set_search_params(self, delay=0.0):
        self.delay = float(delay)

    def search(self, xq, k):
        if self.delay:
            time.sleep(self.delay)
        scores = xq @ self.xb.T
        I = np.argsort(-scores, axis=1)[:, :k].astype(np.int64)
        return np.take_along_axis(scores, I, 1).astype(np.float32), I

    def stats(self):
        return {"index_bytes": int(self.xb.nbytes)}

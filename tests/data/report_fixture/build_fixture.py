"""Rebuild the report's fixed test results: ``python tests/data/report_fixture/build_fixture.py``.

A tiny CLIP-like dataset (two query sets on one base of captioned "images") is
swept by the real runner (``annbench.runner.sweep.run_plan``) with the real
backends, so every record is one annbench writes: real recalls and ids, real
timings of the machine that built the fixture, its machine and library
versions. GPU points are asked for and recorded as skipped (these backends
have no GPU variant), and the test plugin ``crashing`` really segfaults and
raises, so failed points carry the runner's own reasons. Run from the
repository root; the output is committed and the tests never rebuild it (they
compare the report's output with golden files made from it).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DATASET_ARG = "tests/data/report_fixture/tiny-clip.hdf5"  # as given to the sweep, from the repo root
CONCEPTS = ("dog", "cat", "bicycle", "beach", "mountain", "pizza", "guitar", "boat", "tree", "car", "bird", "child")
ADJECTIVES = ("black", "small", "red", "sunny", "snowy", "old", "happy", "wet")
NB, D, NQ, K, THREADS = 400, 32, 40, 10, 2
NQS = [1, 8, 40]


def make_dataset(rng: np.random.Generator):
    from annbench.data.model import Dataset, QuerySet
    from annbench.groundtruth import exact_knn

    centers = rng.normal(size=(len(CONCEPTS), D))
    gap = rng.normal(size=D) * 0.6  # the modality gap: texts sit apart from images
    concept = rng.integers(0, len(CONCEPTS), NB + NQ)
    adjective = rng.integers(0, len(ADJECTIVES), NB + NQ)
    images = centers[concept] + rng.normal(scale=1.6, size=(NB + NQ, D))
    captions = [f"a {ADJECTIVES[a]} {CONCEPTS[c]}" + (" outside" if i % 3 else "") for i, (a, c)
                in enumerate(zip(adjective, concept))]
    text_concept = rng.integers(0, len(CONCEPTS), NQ)
    texts = centers[text_concept] + gap + rng.normal(scale=1.2, size=(NQ, D))
    text_labels = [f"a photo of a {CONCEPTS[c]}" for c in text_concept]
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    xb = unit(images[:NB])
    sets = {}
    for name, modality, xq, labels in (("text", "text", unit(texts), text_labels),
                                       ("image", "image", unit(images[NB:]), captions[NB:])):
        dist, ids = exact_knn(xb, xq, k=20, metric="angular", use_gpu=False)
        sets[name] = QuerySet(name, xq, ids, dist, modality=modality, labels=labels)
    return Dataset("tiny-clip", "angular", xb, sets, base_modality="image", base_labels=captions[:NB])


def plan():
    from annbench.runner.plan import Plan, expand_index
    from annbench.runner.timing import TimingRule

    devices = ["cpu", "gpu"]  # no backend here has a GPU variant: those points are recorded as skipped
    builds = (expand_index("flat", {}, {}, devices, NB, D)
              + expand_index("ivf_flat", {"nlist": [8, 32]}, {"nprobe": [1, 2, 4, 8]}, devices, NB, D)
              + expand_index("hnsw", {"M": [4, 12], "ef_construction": [40]}, {"ef": [10, 20, 40, 80]}, ["cpu"], NB, D)
              + expand_index("crashy", {"mode": ["segv", "raise"]}, {}, ["cpu"], NB, D))
    return Plan(dataset=DATASET_ARG, dataset_name="tiny-clip", query_sets=["text", "image"], k=K, nqs=NQS,
                threads=THREADS, builds=builds, timeout_s=120, timing=TimingRule(min_time_s=0.06, repeats=3),
                save_neighbors=True)


def main() -> None:
    os.chdir(ROOT)
    plugins = str(ROOT / "tests" / "plugins")
    os.environ["ANNBENCH_BACKENDS"] = "crashy=crashing:Crashing"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), plugins])
    sys.path[:0] = [str(ROOT), plugins]
    from annbench.data.hdf5io import write_dataset
    from annbench.runner.sweep import run_plan

    write_dataset(make_dataset(np.random.default_rng(7)), ROOT / DATASET_ARG, force=True)
    shutil.rmtree(HERE / "results", ignore_errors=True)
    counts = run_plan(plan(), str((HERE / "results").relative_to(ROOT)),
                      argv=["annbench", "sweep", "(tests/data/report_fixture/build_fixture.py)"])
    (HERE / "results" / ".lock").unlink()  # the sweep's lock file: not part of the fixture
    print(counts)


if __name__ == "__main__":
    main()

"""Shared fixtures: tiny deterministic data, and the real CLIP data from ../shared/data."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

# faiss's OpenMP threads spin while they wait: on a 2-core machine running several test
# processes that costs up to 10x; tests time nothing, so let waiting threads sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ANNBENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIP = SHARED / "clip-vitb32-flickr8k-detic"
TEXT_FILES = ("lvis_v1_clip_a+cname.npy", "coco_clip_a+cname.npy", "o365_clip_a+cnamefix.npy", "oid_clip_a+cname.npy")


def _need_shared():
    if not (CLIP / "flickr8k_image_emb.npy").exists():
        pytest.skip(f"real CLIP data not found in {SHARED} (set ANNBENCH_SHARED_DATA)")


def class_names() -> list[str]:
    names = (CLIP / "lvis_v1_names.txt").read_text().splitlines()
    names += (CLIP / "coco_names.txt").read_text().splitlines()
    with open(CLIP / "o365_names.csv", newline="") as fh:
        names += [row[1] for row in csv.reader(fh) if row]
    names += [f"openimages class {i}" for i in range(500)]  # names not shipped
    return names


@pytest.fixture(scope="session")
def clip_arrays() -> dict:
    """Real CLIP ViT-B/32 vectors: 1000 images (+captions), 2148 class-name texts (+names)."""
    _need_shared()
    images = np.load(CLIP / "flickr8k_image_emb.npy").astype(np.float32)
    texts = np.concatenate([np.load(CLIP / f) for f in TEXT_FILES]).astype(np.float32)
    captions = json.loads((CLIP / "flickr8k_captions.json").read_text())
    return {"images": images, "texts": texts, "captions": captions, "names": class_names()}


@pytest.fixture(scope="session")
def t2i_dataset(clip_arrays):
    """The real text-to-image set: 1000 Flickr8k images as base, 2148 class-name texts as queries."""
    from annbench.data.importer import QuerySpec
    from annbench.groundtruth.build_imported import build_dataset

    spec = QuerySpec("text", clip_arrays["texts"], "text", clip_arrays["names"])
    return build_dataset("clip-t2i", clip_arrays["images"], [spec], "angular", 100,
                         clip_arrays["captions"], "image")


@pytest.fixture(scope="session")
def i2i_dataset(clip_arrays):
    """The real image-to-image set: 900 images as base, 100 held-out images as queries."""
    from annbench.data.importer import holdout
    from annbench.groundtruth.build_imported import build_dataset

    xb, spec, labels = holdout(clip_arrays["images"], 100, 0, clip_arrays["captions"], "image")
    return build_dataset("clip-i2i", xb, [spec], "angular", 100, labels, "image")


@pytest.fixture(scope="session")
def t2i_file(tmp_path_factory, t2i_dataset):
    """The real text-to-image set as a dataset file (1000 images, 2148 text queries, K=100)."""
    from annbench.data.hdf5io import write_dataset

    return write_dataset(t2i_dataset, tmp_path_factory.mktemp("ds") / "t2i.hdf5")


@pytest.fixture
def unit_data():
    """Tiny deterministic unit-norm data: (xb, xq)."""
    rng = np.random.default_rng(42)
    xb = rng.standard_normal((2000, 32)).astype(np.float32)
    xq = rng.standard_normal((50, 32)).astype(np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    return xb, xq


def brute_force(xb: np.ndarray, xq: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """float64 reference: (ann-benchmarks distances, ids) best first, ties by id."""
    xb64, xq64 = xb.astype(np.float64), xq.astype(np.float64)
    if metric == "angular":
        dist = 1.0 - xq64 @ xb64.T
    else:  # differences: |x|^2 + |q|^2 - 2<x,q> cancels when the norms dwarf the distances
        step = max(1, (1 << 24) // max(1, xb64.size))
        dist = np.vstack([np.sqrt((((q[:, None, :] - xb64[None]) ** 2).sum(-1)))
                          for q in (xq64[s:s + step] for s in range(0, len(xq64), step))])
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, 1), order


def run_cli(*argv: str, cwd: Path | None = None):
    """Run ``python -m annbench`` in a subprocess; returns CompletedProcess (text)."""
    import subprocess
    import sys

    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), path] if path else [str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "annbench", *argv], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where faiss sees a GPU (faiss-gpu on a CUDA machine)."""
    from annbench.backends.gpu_common import gpu_count

    if gpu_count() > 0:
        return
    skip = pytest.mark.skip(reason="needs a GPU: faiss sees none (or is faiss-cpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

"""Query difficulty (LID, relative contrast, out-of-distribution): known answers, and what real CLIP shows."""

import numpy as np
from conftest import run_cli

from annbench.data.hdf5io import write_dataset
from annbench.groundtruth import exact_knn
from annbench.groundtruth.difficulty import base_nn_distance, lid, query_difficulty


def test_lid_finds_the_dimension_of_a_flat_manifold():
    rng = np.random.default_rng(0)
    for dim in (4, 12):
        basis = np.linalg.qr(rng.standard_normal((64, dim)))[0].T  # a dim-dimensional subspace of R^64
        points = (rng.uniform(-1, 1, (20000, dim)) @ basis).astype(np.float32)
        D, _ = exact_knn(points[100:], points[:100], k=20, metric="euclidean")
        estimate = float(np.median(lid(D, k=20)))
        assert 0.7 * dim < estimate < 1.3 * dim, (dim, estimate)


def test_text_queries_lie_outside_the_image_base_and_are_harder(t2i_dataset, i2i_dataset):
    found = {}
    for ds, name in ((t2i_dataset, "text"), (i2i_dataset, "holdout")):
        qs = ds.query_sets[name]
        found[name] = {m: float(np.nanmedian(v)) for m, v in
                       query_difficulty(ds.xb, qs.queries, qs.distances, ds.metric).items()}
    text, image = found["text"], found["holdout"]
    assert text["ood"] > 2 * image["ood"] and 0.7 < image["ood"] < 1.5  # image queries are drawn like the base
    assert text["lid"] > image["lid"] and text["rc"] < image["rc"]       # near-ties: many dims, little contrast


def test_the_base_nearest_neighbour_distance_skips_the_item_itself(unit_data):
    xb, _ = unit_data
    dup = np.vstack([xb, xb[:5]])  # five exact duplicates: their nearest other item is at distance 0
    assert base_nn_distance(xb, "angular") > 0 and base_nn_distance(dup, "angular") >= 0


def test_datasets_stats_prints_the_difficulty(tmp_path, t2i_dataset):
    path = write_dataset(t2i_dataset, tmp_path / "t2i.hdf5")
    r = run_cli("datasets", "stats", str(path))
    assert r.returncode == 0, r.stderr
    assert "query difficulty" in r.stdout and "local intrinsic dimensionality" in r.stdout

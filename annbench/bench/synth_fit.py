"""Does ``clip-synth --like`` reproduce the recall curves of the real vectors it was fitted to?

Goal: fitted on a sample a tenth of the size generated, the synthetic set gives
the recall@10 of IVF-Flat (nprobe 1, 4, 16 at nlist = sqrt(n) rounded to a power
of two) and HNSW (hnswlib, M 16, ef_construction 100, ef 10 and 40) measured on a
disjoint real part of the same set, of the size generated, within 0.05 at every point.

On the shared real data (../shared/data: 1000 Flickr8k CLIP ViT-B/32 images,
2148 class-prompt texts) a split draws 100 images aside and keeps 900 as the
real base; the model is fitted (through ``make_clip_synth_like``, from a dataset
file, as the command does) on 90 of the 100 and on a tenth of the texts (214),
and generates 900 images. Real queries: the other 1934 texts (text->image) and
the 100 images drawn aside (image->image). Synthetic queries: 1934 of each kind.
No real vector reaches the synthetic set but through the fitted parameters.
Both sides: the same annbench backends and settings, tie-aware recall against
exact ground truth (K = 100), each point the mean over BUILDS builds (IVF:
k-means started from shuffled rows; HNSW: shuffled insertion).

Printed: split 0 point by point; then, for split 0's text->image points, where a
miss comes from: the real base searched with the synthetic text queries, and the
synthetic base with the real text queries (a miss that the synthetic base shows
with real queries is the base's; one that the real base shows with synthetic
queries is the queries'); then how far split 0's synthetic recall moves with
the generator's own seed alone, the fit kept (``--seeds`` more sets): the noise
floor of a single generated set at n = 900, and how often two such sets meet the
goal against each other; then the recall of as many sets of
that fit at each of ``--scale-n`` sizes (one build a set), whether that spread
shrinks as n grows towards the sizes users generate; then every point over ``--splits``
splits (split i draws its rows and fits with seed i): at n = 900 recall is
noisy, real recall included; then, per split, its sample's texts' best-match
z-score and the texts' attribute share fitted to it beside the split's
text->image HNSW ef 10 and worst point (``sample_table``: the misses follow the
sample); then the goal's noise floor: at n = 900, each split's
synthetic set against its real base beside two draws of its fitted model (the
set and the next 900 rows of one population: ``model_draws``, what the goal asks
of a model that describes the data exactly, with the model's own sampling noise)
and a set fitted again to a sample of 90 + 214 of that model's own rows against
its first draw (``model_refit``: what fitting so small a sample costs when the
model's family is right) and, with ``--populations``, the mean of the split's set and that many more drawn
from its fit with seeds of their own against the real base (``population_mean``: the seed's chance taken
out, what is left of the miss is the fit's); then, for the first ``--posterior-splits`` splits, how far a split's
sample pins down the recall at 900 at all (``posterior_spread``: the fit's grids, the image tree's and
the pairing's, drawn by the sample's likelihood, each point drawn generated at 900 and measured: the
spread of sets that the sample cannot tell apart); at n = 450, each split's real base halved, one real
half against the other (two real sets of one distribution: how near a single set can be expected to come,
and whether the model's draws differ as much as real sets do) beside the split's
synthetic set generated at that size (its fit unchanged: a fifth of 450) against
the first half and the model's two draws of 450; then, over the same splits, real and synthetic side
by side, what sets text->image IVF recall apart from HNSW's (``text_mechanics``),
and how much an image query's cell gains at a fixed nlist as the base grows
(``cell_growth``). Then the same goal on a real set that is not CLIP, one
modality (``--sift-splits``): the shared 5000 SIFT descriptors, normalised (the
model is of cosine geometry), 4000 as the real base, 500 held out as queries,
400 more fitted to, 4000 generated, then the goal's noise floor measured at its own design
(``twin_rows``: two disjoint real sets of 2000 descriptors with the same queries, a set fitted on
200 others and generated at 2000, two draws of 2000 of that fit, and that fit's own rows fitted
again: the one real set here large enough to hold two); and on a real
learned set far from CLIP's geometry
(``--token-splits``): the 32,000 token embeddings (256-d) the wordllama package ships,
10,000 as the real base, 1000 held out, 1000 fitted to, 10,000 generated, with each
split's fit check (groundtruth/fit_check.py), which says whether the model reproduces
even its own sample. Then the memory bound: the peak RSS of ``annbench datasets
make clip-synth --like`` (fitted to the whole real set) at ``--memory-n`` rows.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from annbench.bench.import_rate import child_peak
from annbench.data.hdf5io import read_dataset, write_dataset
from annbench.data.importer import QuerySpec
from annbench.data.synth import sample_like
from annbench.data.synth_fit import coupling_posterior, fit_coupling, fit_modality, tree_posterior
from annbench.data.synth_fitted import read_fitted
from annbench.data.synth_tree import TreeGenerator
from annbench.data.synth_moments import pairing_stats
from annbench.groundtruth import exact_knn
from annbench.groundtruth import fit_check
from annbench.groundtruth.build_imported import build_dataset
from annbench.groundtruth.build_synth import make_clip_synth_like, write_clip_synth_like
from annbench.groundtruth.fit_check import (GOAL, K, POINTS, TRUTH, curve, exact_builds, mean_curve, nlist_for,
                                            within_goal, build as _build,
                                            recall as _recall, stderr_muted as _stderr_muted)

BUILDS = 5   # each point is the mean over this many builds: at n = 900 one k-means start moves IVF recall by ~0.04
TEXT_FILES = ("lvis_v1_clip_a+cname.npy", "coco_clip_a+cname.npy", "o365_clip_a+cnamefix.npy", "oid_clip_a+cname.npy")
SETS = {"text": "text->image", "image": "image->image"}
SIFT_FILE = Path("sift-5k") / "sift-dataset-5k.tsv"   # 5000 SIFT descriptors: 128 values, then an id
SIFT_N, SIFT_QUERIES = 4000, 500  # a SIFT split: the real base and generated size, held-out queries (fit: n / 10)
SIFT_TWIN_N = 2000  # the noise floor's SIFT size: two real sets, the queries and a tenth (4700 rows) fit in 5000
TOKEN_FILE = Path("weights") / "l2_supercat_256.safetensors"  # in the wordllama package
TOKEN_N, TOKEN_QUERIES = 10_000, 1000  # a token split: the real base and generated size, held-out queries
SHARED = Path(os.environ.get("ANNBENCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def load_shared(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The shared real CLIP vectors, unit-norm: (images, texts)."""
    clip = root / "clip-vitb32-flickr8k-detic"
    images = np.load(clip / "flickr8k_image_emb.npy").astype(np.float32)
    texts = np.concatenate([np.load(clip / f) for f in TEXT_FILES]).astype(np.float32)
    return tuple(x / np.linalg.norm(x, axis=1, keepdims=True) for x in (images, texts))


@dataclass
class Split:
    fit_images: np.ndarray   # the sample fitted to: 90 images ...
    fit_texts: np.ndarray | None  # ... and a tenth of the texts (None: one modality, as SIFT)
    base: np.ndarray         # the real base (900 images, none of them fitted to)
    queries: dict            # real queries: text (the other texts), image (the 100 images drawn aside)
    twin: np.ndarray | None = None  # a second real base of the same size, disjoint from the rest (noise floor)

    @property
    def kind(self) -> str:
        """The query set fitted to with the images and sizing the synthetic set's queries: the texts, else
        (one modality) the images."""
        return "image" if self.fit_texts is None else "text"


def split(images: np.ndarray, texts: np.ndarray, index: int) -> Split:
    rng = np.random.default_rng(index)
    p, pt = rng.permutation(len(images)), rng.permutation(len(texts))
    held, tenth = p[:len(images) // 10], len(texts) // 10
    return Split(images[held[:len(held) * 9 // 10]], texts[pt[:tenth]], images[p[len(held):]],
                 {"text": texts[pt[tenth:]], "image": images[held]})


def load_sift(root: Path) -> np.ndarray:
    """The shared SIFT descriptors, unit-norm (the model is of cosine geometry: ``--like`` normalises them too)."""
    x = np.loadtxt(root / SIFT_FILE, dtype=np.float32, usecols=range(128))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def load_tokens() -> np.ndarray:
    """The 32,000 token embeddings (256-d) that the wordllama package ships (an LLM's input embeddings,
    distilled), unit-norm: a real learned set whose geometry is far from CLIP's."""
    import wordllama
    from safetensors.numpy import load_file

    x = load_file(str(Path(wordllama.__file__).parent / TOKEN_FILE))["embedding.weight"].astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def held_out_split(x: np.ndarray, index: int, n: int, queries: int, twin: bool = False) -> Split:
    """A one-modality split: ``n`` rows as the real base, ``queries`` held out as its queries, ``n // 10``
    more to fit to and, with ``twin``, ``n`` more as a second real base, all disjoint (seed ``index``)."""
    p = np.random.default_rng(index).permutation(len(x))
    fit = n + queries + n // 10
    if fit + (n if twin else 0) > len(x):
        raise ValueError(f"a split of {n} needs {fit + (n if twin else 0)} rows, there are {len(x)}")
    return Split(x[p[n + queries:fit]], None, x[p[:n]], {"image": x[p[n:n + queries]]},
                 x[p[fit:fit + n]] if twin else None)


def exact_curve(xb: np.ndarray, xq: np.ndarray, threads: int = 1) -> np.ndarray:
    """Recall at every point of queries ``xq`` on base ``xb``, against their exact truth (BUILDS builds)."""
    return fit_check.exact_curve(xb, xq, threads, BUILDS)


def real_curves(xb: np.ndarray, queries: dict[str, np.ndarray], threads: int = 1) -> dict[str, np.ndarray]:
    """Recall at every point of each set of real ``queries`` on base ``xb``, against their exact truth."""
    return {name: exact_curve(xb, xq, threads) for name, xq in queries.items()}


def file_curves(path: Path, threads: int = 1, builds: int = BUILDS) -> dict[str, np.ndarray]:
    """Recall at every point of each query set of a dataset file, against the truth it stores."""
    ds = read_dataset(path)
    return {name: curve(ds.xb, qs.queries, qs.neighbors, qs.distances, threads, builds)
            for name, qs in ds.query_sets.items()}


def write_like_source(images: np.ndarray, queries: np.ndarray, path: Path, modality: str = "text") -> Path:
    """Real rows as a dataset file (an image base with ``modality`` queries), the input ``--like`` takes. It
    fits to queries of the other modality only: image queries are there because a dataset file has queries."""
    ds = build_dataset(path.stem, images, [QuerySpec(modality, queries, modality)], "angular",
                       min(TRUTH, len(images)), None, "image")
    return write_dataset(ds, path, force=True)


def synthetic_curves(s: Split, seed: int, workdir: Path, threads: int = 1) -> tuple[dict[str, np.ndarray], Path]:
    """Fit on the split's sample (its images, and its texts if it has them), generate at the real base's
    size (with as many queries of each kind as the real text queries, else image queries), measure."""
    like = write_like_source(s.fit_images, s.queries["image"] if s.fit_texts is None else s.fit_texts,
                             workdir / f"fit-sample-{seed}.hdf5", s.kind)
    out_path = make_clip_synth_like(workdir / f"like-{seed}.hdf5", like, n=len(s.base), nq=len(s.queries[s.kind]),
                                    seed=seed, k=TRUTH, force=True)
    return file_curves(out_path, threads), out_path


def file_side(path: Path) -> tuple[np.ndarray, dict]:
    """A dataset file's base and its query sets ({name: queries})."""
    ds = read_dataset(path)
    return np.asarray(ds.xb), {name: qs.queries for name, qs in ds.query_sets.items()}


def cross_table(s: Split, synth_side: tuple[np.ndarray, dict], real: dict, synth: dict,
                threads: int = 1) -> list[str]:
    """Split 0's text->image points with bases and queries crossed (``synth_side``: the synthetic set's
    base and query sets): which side of the synthetic set a difference comes from."""
    xb, xq = synth_side[0], synth_side[1]["text"]
    rows = {"real base, real texts": real["text"],
            "real base, synthetic texts": exact_curve(s.base, xq, threads),
            "synthetic base, real texts": exact_curve(xb, s.queries["text"], threads),
            "synthetic base, synthetic texts": synth["text"]}
    lines = ["text->image at split 0, bases and queries crossed: recall@10"]
    short = {"ivf_flat": "IVF", "hnswlib": "HNSW"}
    lines.append(f"  {'':32}" + " ".join(f"{short[index] + ' ' + param + '=' + str(value):>13}"
                                         for index, param, value in POINTS))
    for title, values in rows.items():
        lines.append(f"  {title:32}" + " ".join(f"{v:13.3f}" for v in values))
    return lines


def generated_curves(model, path: Path, n: int, nq: int, seed: int, threads: int = 1,
                     builds: int = BUILDS) -> dict[str, np.ndarray]:
    """Recall at every point of a set of ``n`` rows generated from a fitted ``model`` (written to ``path``
    through the command's own path, with its exact truth, measured, then removed)."""
    path = write_clip_synth_like(path, model, n=n, nq=nq, seed=seed, k=TRUTH, force=True)
    try:
        return file_curves(path, threads, builds)
    finally:
        path.unlink()


def fit_sets(path: Path, s: Split, seeds: list[int], workdir: Path, prefix: str, threads: int = 1,
             builds: int = BUILDS) -> list[dict[str, np.ndarray]]:
    """Recall at every point of sets of the fitted model of ``path`` at split ``s``'s size (as many queries of
    each kind as its real ones), one per seed of ``seeds``: other populations of one fit (``prefix``-SEED.hdf5
    files in ``workdir``, each removed once measured)."""
    model, n, nq = read_fitted(path), len(s.base), len(s.queries[s.kind])
    return [generated_curves(model, workdir / f"{prefix}-{seed}.hdf5", n, nq, seed, threads, builds) for seed in seeds]


HALVES = "each split's real base halved; the synthetic set generated at that size"
REAL_PAIR, SYNTH_PAIR, MODEL_PAIR = "real B - real A", "synthetic - real A", "model B - model A"
REFIT_PAIR = "refit - model A"
AT_SIZE = ("each split's synthetic set against its real base; two draws of its fitted model, the first that set; "
           "that model's own rows fitted again from a sample the split's size, against the first draw")
REFIT_SEED = 1000  # the refit of the model of seed s draws its own population with seed REFIT_SEED + s


def half_curves(s: Split, synth_path: Path, synth_side: tuple[np.ndarray, dict], seed: int, workdir: Path,
                threads: int = 1) -> dict[str, tuple]:
    """The goal's noise floor at half the split's size (``noise_table``'s pairs): the two disjoint halves of
    the real base (the same queries), the split's synthetic set generated at that size (its first half:
    blocks are keyed by index) against the first, and the two halves of the split's synthetic set
    (``synth_side``: its base and query sets), two draws of that size of its fitted model."""
    h, nq = len(s.base) // 2, len(s.queries["text"])
    synth = generated_curves(read_fitted(synth_path), workdir / f"half-{seed}.hdf5", h, nq, seed, threads)
    real_a = real_curves(s.base[:h], s.queries, threads)
    xb, queries = synth_side
    return {REAL_PAIR: (real_a, real_curves(s.base[h:], s.queries, threads)), SYNTH_PAIR: (real_a, synth),
            MODEL_PAIR: (real_curves(xb[:h], queries, threads), real_curves(xb[h:2 * h], queries, threads))}


def by_title(rows: list[dict[str, tuple]]) -> dict[str, list[tuple]]:
    """Per-split {title: pair} rows as {title: [pair per split]} (``noise_table``'s input)."""
    return {title: [row[title] for row in rows] for title in rows[0]}


def model_draws(path: Path, n: int, nq: int, seed: int, threads: int = 1) -> tuple[dict, dict]:
    """The model against itself: two disjoint draws of ``n`` rows of one fitted population (the first and
    the next ``n`` rows of a set of ``2 n`` generated from the fitted model of ``path`` with ``seed``, in
    memory: the first are the rows of that model's file of ``n``), each searched with that set's ``nq``
    queries of each kind against its own exact truth. No fit and no new population between them: how far
    two sets of a distribution the model describes exactly differ, at ``n``."""
    xb, queries = sample_like(read_fitted(path), 2 * n, nq, seed)
    return real_curves(xb[:n], queries, threads), real_curves(xb[n:], queries, threads)


def model_refit(path: Path, s: Split, seed: int, workdir: Path, threads: int = 1) -> dict[str, np.ndarray]:
    """The goal on data the model describes exactly: the fitted model of ``path`` (drawn with ``seed``) stands
    in for the real data. Its first ``len(s.base)`` rows and its queries (``model_draws``' first draw) are the
    real side; a sample of its population shaped like the split's (as many rows of each modality as ``s``
    fits to: the base's next rows, the other modality's queries past the set's) is fitted again as the
    command fits (seed ``REFIT_SEED + seed``: a population of its own), generated at that size and measured.
    Against that first draw: what fitting a sample this small costs even when the model's family is right."""
    n, nq = len(s.base), len(s.queries[s.kind])
    xb, queries = sample_like(read_fitted(path), n + len(s.fit_images),
                              nq + (0 if s.fit_texts is None else len(s.fit_texts)), seed)
    own = Split(xb[n:], None if s.fit_texts is None else queries["text"][nq:], xb[:n],
                {name: q[:nq] for name, q in queries.items()})
    curves, out = synthetic_curves(own, REFIT_SEED + seed, workdir, threads)
    out.unlink()
    return curves


def model_pairs(path: Path, s: Split, seed: int, workdir: Path, threads: int = 1) -> dict[str, tuple]:
    """``noise_table``'s pairs of split ``s``'s fitted model (``path``, drawn with ``seed``): its two draws at
    the split's size (``model_draws``) and its refit (``model_refit``) against the first of them."""
    draws = model_draws(path, len(s.base), len(s.queries[s.kind]), seed, threads)
    return {MODEL_PAIR: draws, REFIT_PAIR: (draws[0], model_refit(path, s, seed, workdir, threads))}


POPULATIONS_PAIR = "populations' mean - real"
POPULATION_SEED = 2000  # split s's j-th population besides its own set's is drawn with seed POPULATION_SEED + 100 s + j
POPULATION_BUILDS = 2   # builds a population (the mean over the populations averages their builds too)


def population_mean(path: Path, s: Split, seed: int, synth: dict, populations: int, workdir: Path,
                    threads: int = 1) -> dict[str, np.ndarray]:
    """The mean recall of split ``s``'s synthetic set (its curves ``synth``) and ``populations`` more sets of
    its fitted model (``path``) at the split's size, each drawn with a seed of its own: another concept tree,
    attribute pool and basis, the fit kept. Against the real base: the split's set with the seed's chance
    averaged out, so what is left of its miss is the fit's (each set written, measured and removed)."""
    sets = [synth] + fit_sets(path, s, [POPULATION_SEED + 100 * seed + j for j in range(1, populations + 1)],
                              workdir, "population", threads, POPULATION_BUILDS)
    return {name: np.mean([c[name] for c in sets], axis=0) for name in synth}


POSTERIOR_DRAWS = 24   # grid points drawn by the sample's likelihood, each generated at the split's size, measured
POSTERIOR_BUILDS = 2   # builds a point (their spread is the measurement's noise, taken out of the points')


def posterior_draws(points: np.ndarray, w: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """POSTERIOR_DRAWS of the grid ``points``, each drawn with probability its likelihood ``w``: the points
    drawn, once each, and the share of the draws that fell on each."""
    drawn = np.random.default_rng([seed, 61]).choice(len(w), POSTERIOR_DRAWS, p=w / w.sum())
    ids, counts = np.unique(drawn, return_counts=True)
    return points[ids], counts / POSTERIOR_DRAWS


def spread_over(curves: list[np.ndarray], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's mean and sd over the grid points measured (``curves``: one array of per-build rows each),
    weighted by ``w``, the builds' noise in each point's mean taken out of the sd."""
    means = np.array([mean_curve(rows) for rows in curves])
    noise = np.array([rows.var(axis=0, ddof=1) / len(rows) for rows in curves])
    mean = w @ means
    return mean, np.sqrt(np.maximum(w @ (means - mean) ** 2 - w @ noise, 0.0))


def posterior_spread(path: Path, s: Split, seed: int, threads: int = 1) -> dict[str, tuple]:
    """How far split ``s``'s sample pins down the recall at the split's size. The fit reads the image tree's
    ``(alpha, sigma, tau)`` and the texts' ``(coupling, attr)`` off a grid, each point weighted by the
    likelihood of the sample's statistics, and keeps the weighted mean. Here each grid is simulated again
    around the fitted model of ``path`` (drawn with ``seed``), POSTERIOR_DRAWS of its points are drawn by
    their likelihood, and each is put in the model as the fit puts its mean (the image tree's spectrum and
    scales fitted again after it, the texts' scales), generated at the split's size and measured:
    image->image for the tree, text->image for the pairing. Returns {query kind: (mean, sd over the draws,
    distinct points drawn)}: the sd is how far sets that the sample cannot tell apart differ in recall."""
    model, n, nq = read_fitted(path), len(s.base), len(s.queries["text"])

    def measured(kind: str, posterior, change) -> tuple:
        points, w = posterior_draws(*posterior(TreeGenerator(model, seed)), seed)
        curves = []
        for point in points:
            gen = TreeGenerator(model, seed)
            change(gen, *map(float, point))
            xb, queries = sample_like(gen.model, n, nq, seed)
            curves.append(exact_builds(xb, queries[kind], threads, POSTERIOR_BUILDS))
        return (*spread_over(curves, w), len(points))

    def tree(gen: TreeGenerator, *structure: float) -> None:
        fit_modality(gen, "image", s.fit_images, s.fit_images, structure)

    def pairing(gen: TreeGenerator, *pairing: float) -> None:
        fit_coupling(gen, s.fit_images, s.fit_texts, s.fit_texts, pairing)

    return {"image": measured("image", lambda gen: tree_posterior(gen, "image", s.fit_images), tree),
            "text": measured("text", lambda gen: coupling_posterior(gen, s.fit_images, s.fit_texts), pairing)}


def posterior_table(rows: list[tuple[dict, dict, dict]], n: int) -> list[str]:
    """Per point over the splits (``rows``: real and synthetic curves and ``posterior_spread``), the synthetic
    set's miss beside the spread of the sets its sample cannot tell apart, and what that spread alone leaves
    of the goal: the share of splits within GOAL if the truth were one of those sets and the set generated
    their mean (a normal of that sd)."""
    lines = [f"how far a split's sample pins down the recall at n = {n}: its fit's grid points drawn "
             f"{POSTERIOR_DRAWS} times by the sample's likelihood, each generated at n and measured "
             f"({POSTERIOR_BUILDS} builds, their noise left out); the image tree's grid for image->image, the "
             f"texts' pairing for text->image; over {len(rows)} splits",
             f"  {'queries':13} {'index':9} {'setting':10} {'synthetic - real':>15} {'sd of the likely sets':>22}"
             f" {'within ' + str(GOAL) + ' from that sd alone':>30}"]
    for name, title in SETS.items():
        diff = np.array([synth[name] - real[name] for real, synth, _ in rows])
        sd = np.array([post[name][1] for _, _, post in rows])
        for j, (index, param, value) in enumerate(POINTS):
            alone = np.mean([math.erf(GOAL / (v * math.sqrt(2))) if v > 0 else 1.0 for v in sd[:, j]])
            lines.append(f"  {title:13} {index:9} {param + '=' + str(value):10} {diff[:, j].mean():+8.3f}+-"
                         f"{diff[:, j].std():.3f} {np.sqrt(np.mean(sd[:, j] ** 2)):>22.3f} {alone:>30.2f}")
    lines.append("  distinct grid points drawn per split: " + "; ".join(
        f"{title} " + ",".join(str(post[name][2]) for _, _, post in rows) for name, title in SETS.items()))
    return lines


def noise_table(pairs: dict[str, list[tuple[dict, dict]]], n: int, titles: dict = SETS, how: str = HALVES
                ) -> list[str]:
    """Per point over the splits, for each kind of pair of sets (``pairs``: {title: [(a, b) per split]}), b
    less a: sd and splits within GOAL, and the splits with every point within GOAL. Two real sets of one
    distribution say what the goal can ask of a set of ``n`` rows; ``how``: how the sets were drawn."""
    sides = {title: np.array([np.concatenate([b[name] - a[name] for name in titles]) for a, b in p])
             for title, p in pairs.items()}
    splits = len(next(iter(pairs.values())))
    lines = [f"the goal's noise floor at n = {n} ({how}): sd over {splits} splits and splits within {GOAL}",
             f"  {'queries':13} {'index':9} {'setting':10}" + "".join(f"{title:>26}" for title in sides)]
    points = [(title, index, param, value) for title in titles.values() for index, param, value in POINTS]
    for j, (title, index, param, value) in enumerate(points):
        lines.append(f"  {title:13} {index:9} {param + '=' + str(value):10}" + "".join(
            f"{d[:, j].std():>18.3f} {int(np.sum(within_goal(d[:, j]))):>3}/{len(d)}" for d in sides.values()))
    lines.append(f"  {'every point within ' + str(GOAL):34}" + "".join(
        f"{sum(goal_met(a, b) for a, b in p):>22}/{len(p)}" for p in pairs.values()))
    nlist = nlist_for(n)
    if any(index == "ivf_flat" and value >= nlist for index, _, value in POINTS):
        lines.append(f"  (nlist {nlist} at n = {n}: an nprobe of {nlist} or more probes every cell, recall 1)")
    return lines


def seed_table(s: Split, synth_path: Path, real: dict, seeds: int, workdir: Path, threads: int = 1) -> list[str]:
    """Synthetic minus real at every point over ``seeds`` more sets generated from split 0's fitted
    model with other seeds: what one generated set's recall varies by, the fit kept."""
    sets = fit_sets(synth_path, s, [1000 + seed for seed in range(1, seeds + 1)], workdir, "seed", threads)
    d = {name: np.array([c[name] - real[name] for c in sets]) for name in SETS}
    lines = [f"split 0's fit, {seeds} other generation seeds: synthetic - real, mean +- sd",
             f"  {'index':9} {'setting':10}" + "".join(f"{title:>16}" for title in SETS.values())]
    for j, (index, param, value) in enumerate(POINTS):
        lines.append(f"  {index:9} {param + '=' + str(value):10}" +
                     "".join(f"{d[name][:, j].mean():+10.3f}+-{d[name][:, j].std():.3f}" for name in SETS))
    met, pairs = pairs_met(sets)
    if pairs:
        lines.append(f"  the goal between two of these sets (one fit, n = {len(s.base)}): every point within {GOAL} "
                     f"on {met}/{pairs} pairs; against the real base: {sum(goal_met(real, c) for c in sets)}/{seeds}")
    return lines


def pairs_met(sets: list[dict]) -> tuple[int, int]:
    """How many pairs of ``sets`` (curves of sets generated from one fit) meet the goal against each other, of
    how many: what the goal can ask of one set when the two sides are samples of one distribution."""
    met = [goal_met(a, b) for j, a in enumerate(sets) for b in sets[j + 1:]]
    return sum(met), len(met)


def scale_table(synth_path: Path, ns: list[int], seeds: int, nq: int, workdir: Path, threads: int = 1) -> list[str]:
    """Recall at every point over ``seeds`` sets generated from split 0's fitted model at each n of ``ns``
    (one build each, so a build's own spread is in the sd): whether one generated set's spread shrinks
    as n grows, at the sizes users generate rather than the real set's."""
    model = read_fitted(synth_path)
    got = {n: [generated_curves(model, workdir / f"scale-{n}-{seed}.hdf5", n, nq, 1000 + seed, threads, builds=1)
               for seed in range(1, seeds + 1)] for n in ns}
    lines = [f"split 0's fit, {seeds} generation seeds at each n (one build a set): recall mean +- sd",
             f"  {'':20}" + "".join(f"{f'n={n} (nlist {nlist_for(n)})':>22}" for n in ns)]
    for name, title in SETS.items():
        lines.append(f"  {title}")
        for j, (index, param, value) in enumerate(POINTS):
            cells = [np.array([c[name][j] for c in got[n]]) for n in ns]
            lines.append(f"  {index:9} {param + '=' + str(value):10}" +
                         "".join(f"{v.mean():>15.3f}+-{v.std():.3f}" for v in cells))
    return lines


def text_mechanics(xb: np.ndarray, xq: np.ndarray, nprobe: int = 4, top: int = 10) -> np.ndarray:
    """What sets text->image IVF recall apart from HNSW's, per query set: the share of the queries'
    variance in the base's ``top`` leading principal directions; the share of all probes that go to
    the two cells most probed (cells that draw every query); the share of each query's exact
    top ``top`` that lies in the ``nprobe`` cells it probes, the cells ranked as faiss ranks them (by
    the unit centroids of its spherical k-means) and by the plain mean of their rows; the cosine of
    the best match less that of the ``top``-th; the cells' shared pull (the spread over cells of the
    mean query's score, over the spread of each query's own part: above 1, a few cells draw every
    query); the spread of the base rows' cosine to their own mean; and the share of all exact top
    ``top`` held by the tenth of the base farthest from its mean (0.1 if they hold their share); and how
    far each query's best score stands out from its scores over the base (its z-score: a heavy top tail
    is large)."""
    mean = xb.mean(axis=0)
    leading = np.linalg.svd(xb - mean, full_matrices=False)[2][:top]
    t = xq - xq.mean(axis=0)
    share = float(np.sum((t @ leading.T) ** 2) / np.sum(t * t))
    index, _ = _build("ivf_flat", xb, np.random.default_rng([0, 97]).permutation(len(xb)), 1)
    centroids = index.quantizer.reconstruct_n(0, index.quantizer.ntotal)  # the cells the bench's IVF trains
    cell = np.argmax(xb @ centroids.T, axis=1)
    means = np.array([xb[cell == j].mean(axis=0) if np.any(cell == j) else np.zeros(xb.shape[1])
                      for j in range(len(centroids))])
    D, best = exact_knn(xb, xq, top)  # best first; D = 1 - cosine
    held = cell[best]

    def probed(scores: np.ndarray) -> np.ndarray:
        return np.argsort(-scores, axis=1)[:, :nprobe]

    def found(probes: np.ndarray) -> float:
        return float(np.mean([np.isin(h, p).mean() for h, p in zip(held, probes)]))

    scores = xq @ centroids.T
    by_centroid = probed(scores)
    visits = np.bincount(by_centroid.ravel(), minlength=len(centroids))
    shared = scores.mean(axis=0)
    pull = float(shared.std() / np.sqrt(np.mean((scores - shared).var(axis=1))))
    lean = xb @ (mean / np.linalg.norm(mean))
    far = np.flatnonzero(lean <= np.quantile(lean, 0.1))
    return np.array([share, float(np.sort(visits)[-2:].sum() / visits.sum()), found(by_centroid),
                     found(probed(xq @ means.T)), float(np.mean(D[:, -1] - D[:, 0])), pull, float(lean.std()),
                     float(np.isin(best, far).mean()), float(pairing_stats(xb, xq)[2])])


def cell_growth(xb: np.ndarray, xq: np.ndarray, small: int = 300, nlist: int = 16, reps: int = 3) -> float:
    """IVF nprobe 1 recall@10 at a fixed ``nlist``, on the whole base less on random subsets of ``small``
    of its rows (each the mean over ``reps`` builds or subsets): how much more of a query's neighbours
    its cell holds as the base grows. A base whose neighbours at larger n are ever more often in the
    same cell (clusters within clusters, all the way down) gains more than one whose are not."""
    def recall(x: np.ndarray, builds: range) -> float:
        """Mean over ``builds`` (the k-means starts) of the nprobe 1 recall on ``x``, its exact truth found once."""
        D, I = exact_knn(x, xq, min(TRUTH, len(x)))
        return float(np.mean([_recall(*_build("ivf_flat", x, np.random.default_rng([b, 97]).permutation(len(x)), 1,
                                              nlist=nlist), {"nprobe": 1}, xq, I, D) for b in builds]))

    rng = np.random.default_rng([0, 89])
    with _stderr_muted():
        whole = recall(xb, range(reps))
        part = np.mean([recall(xb[np.sort(rng.choice(len(xb), small, replace=False))], range(b, b + 1))
                        for b in range(reps)])
    return float(whole - part)


MECHANICS = ("texts' variance in the images' 10 leading directions (random: 10/d)",
             "probes (4 a query) that go to the 2 cells most probed",
             "exact top 10 in the 4 cells probed, cells ranked by faiss's unit centroids",
             "... by the plain mean of each cell's rows",
             "best match's cosine less the 10th's",
             "cells' shared pull: sd over cells of the mean text's score / of a text's own",
             "images' cosine to their own mean: sd",
             "exact top 10 in the tenth of images farthest from their mean (even: 0.1)",
             "texts' best match: its z-score among the text's scores over the images",
             "IVF nprobe 4 recall less HNSW ef 10 recall",
             "image->image IVF nprobe 1 at nlist 16: recall on 900 images less on 300")


def split_mechanics(xb: np.ndarray, queries: dict, curves: dict) -> np.ndarray:
    """``text_mechanics`` of one side of a split (``queries``: its text and image queries), with its IVF
    nprobe 4 less HNSW ef 10 text->image recall and its image->image ``cell_growth``."""
    ivf, hnsw = POINTS.index(("ivf_flat", "nprobe", 4)), POINTS.index(("hnswlib", "ef", 10))
    return np.append(text_mechanics(xb, queries["text"]),
                     [curves["text"][ivf] - curves["text"][hnsw], cell_growth(xb, queries["image"])])


def mechanics_table(rows: list[tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """Real and synthetic mechanics (``split_mechanics``), mean +- sd over the splits."""
    real, synth = (np.array([r[k] for r in rows]) for k in range(2))
    lines = [f"text->image (the last row image->image) over {len(rows)} splits, real and synthetic side by side: "
             "mean +- sd",
             f"  {'':76} {'real':>14} {'synthetic':>14}"]
    for j, title in enumerate(MECHANICS):
        lines.append(f"  {title:76} {real[:, j].mean():7.3f}+-{real[:, j].std():.3f} "
                     f"{synth[:, j].mean():7.3f}+-{synth[:, j].std():.3f}")
    return lines


def goal_met(real: dict, synth: dict) -> bool:
    """The goal: every point of every query set within GOAL."""
    return all(np.all(within_goal(synth[name] - real[name])) for name in real)


def point_table(real: dict, synth: dict) -> list[str]:
    lines = []
    for name, title in SETS.items():
        lines.append(f"{title}: recall@{K}")
        lines.append(f"  {'index':9} {'setting':10} {'real':>6} {'synth':>6} {'diff':>7}  within {GOAL}")
        for (index, param, value), r, y in zip(POINTS, real[name], synth[name]):
            lines.append(f"  {index:9} {param + '=' + str(value):10} {r:6.3f} {y:6.3f} {y - r:+7.3f}  "
                         f"{'yes' if within_goal(y - r) else 'NO'}")
    diff = np.abs(np.concatenate([synth[n] - real[n] for n in SETS]))
    lines.append(f"max |diff| {diff.max():.3f}: goal (every point within {GOAL}) "
                 f"{'met' if goal_met(real, synth) else 'NOT met'}")
    return lines


def spread_table(rows: list[tuple[dict, dict]], titles: dict = SETS) -> list[str]:
    lines = [f"over {len(rows)} splits (split i: rows drawn and fitted with seed i): mean +- sd"]
    for name, title in titles.items():
        real = np.array([r[name] for r, _ in rows])
        diff = np.array([y[name] for _, y in rows]) - real
        lines.append(title)
        lines.append(f"  {'index':9} {'setting':10} {'real':>12} {'synth - real':>14} {'max|diff|':>9}  "
                     f"splits within {GOAL}")
        for j, (index, param, value) in enumerate(POINTS):
            within = int(np.sum(within_goal(diff[:, j])))
            lines.append(f"  {index:9} {param + '=' + str(value):10} {real[:, j].mean():6.3f}+-{real[:, j].std():.3f} "
                         f"{diff[:, j].mean():+7.3f}+-{diff[:, j].std():.3f} {np.abs(diff[:, j]).max():9.3f}  "
                         f"{within}/{len(rows)}")
    every = sum(goal_met(r, y) for r, y in rows)
    lines.append(f"splits with every point within {GOAL}: {every}/{len(rows)}")
    return lines


def sample_table(rows: list[tuple[dict, dict]], samples: list[tuple[float, float]]) -> list[str]:
    """Per split, what its fit sample said of the pairing beside where the split missed: the sample's texts'
    best-match z-score over its images, the texts' attribute share fitted with it (``samples``), text->image
    HNSW ef 10 and the point farthest from the real set."""
    hnsw = POINTS.index(("hnswlib", "ef", 10))
    names = [f"{title} {point}" for title in SETS.values() for point in fit_check.NAMES]
    lines = ["each split's sample (texts against images): the best match's z-score among a text's scores, the "
             "texts' attribute share fitted to it; synthetic - real text->image HNSW ef 10, and the worst point",
             f"  {'split':>5} {'z-score':>8} {'share':>6} {'HNSW ef 10':>10}  worst point"]
    for i, ((real, synth), (z, share)) in enumerate(zip(rows, samples)):
        diff = np.concatenate([synth[n] - real[n] for n in SETS])
        j = int(np.argmax(np.abs(diff)))
        lines.append(f"  {i:5d} {z:8.3f} {share:6.3f} {synth['text'][hnsw] - real['text'][hnsw]:+10.3f}  "
                     f"{names[j]} {diff[j]:+.3f}{'' if within_goal(diff[j]) else ' (over the goal)'}")
    return lines


def twin_rows(x: np.ndarray, n: int, queries: int, splits: int, workdir: Path, threads: int = 1
              ) -> list[dict[str, tuple]]:
    """The goal's noise floor measured at the goal's own design on a one-modality set: per split (seed
    ``100 + i``), two disjoint real bases of ``n`` rows with the same held-out queries, the synthetic set
    fitted on ``n // 10`` other rows and generated at ``n`` against the first, two draws of ``n`` of that
    fitted model, and that model's own rows fitted again against its first draw (``model_refit``; the
    pairs of ``noise_table``)."""
    rows = []
    for i in range(splits):
        s = held_out_split(x, 100 + i, n, queries, twin=True)
        synth, path = synthetic_curves(s, 100 + i, workdir, threads)
        real_a = real_curves(s.base, s.queries, threads)
        rows.append({REAL_PAIR: (real_a, real_curves(s.twin, s.queries, threads)), SYNTH_PAIR: (real_a, synth),
                     **model_pairs(path, s, 100 + i, workdir, threads)})
    return rows


def held_out_rows(x: np.ndarray, n: int, queries: int, splits: int, workdir: Path,
                  threads: int = 1) -> tuple[list[tuple[dict, dict]], list[str]]:
    """(real, synthetic) curves of ``splits`` one-modality splits of ``x`` (``held_out_split``), and each
    split's fit check verdict."""
    rows, checks = [], []
    for i in range(splits):
        s = held_out_split(x, i, n, queries)
        synth, path = synthetic_curves(s, i, workdir, threads)
        rows.append((real_curves(s.base, s.queries, threads), synth))
        model = read_fitted(path)
        verdict = fit_check.check_lines(model.source["check"], model.base)[-1].strip()
        checks.append(f"split {i}: fit check {verdict}")
    return rows, checks


def memory_table(like: Path, ns: list[int], workdir: Path) -> list[str]:
    """Peak RSS of the command (fit, generation and exact truth of 1000 + 1000 queries) at each n, in a child."""
    lines = [f"{'n':>10} {'base MiB':>9} {'seconds':>8} {'peak RSS MiB':>13} {'peak/base':>10}"]
    for n in ns:
        out = workdir / f"memory-{n}.hdf5"
        seconds, peak, _ = child_peak([sys.executable, "-m", "annbench", "datasets", "make", "clip-synth",
                                       "--like", str(like), "--n", str(n), "--out", str(out), "--force"])
        base = n * 512 * 4
        lines.append(f"{n:>10,} {base / 2**20:>9.0f} {seconds:>8.1f} {peak / 2**20:>13.0f} {peak / base:>10.2f}")
        out.unlink()
    return lines


def sizes(text: str) -> list[int]:
    """A comma-separated list of row counts ('' for none), as --scale-n and --memory-n take it."""
    out = [int(v) for v in text.split(",") if v.strip()]
    if any(n < 1 for n in out):
        raise ValueError(text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(SHARED), help="the shared real data (default ../shared/data)")
    ap.add_argument("--splits", type=int, default=10, help="splits measured (split i uses seed i)")
    ap.add_argument("--seeds", type=int, default=5, help="more sets generated from split 0's fit (0: none)")
    ap.add_argument("--scale-n", type=sizes, default="900,9000",
                    help="sizes at which --seeds sets of split 0's fit are measured, comma-separated ('' for none)")
    ap.add_argument("--posterior-splits", type=int, default=3,
                    help="splits (the first) whose fit's likely grid points are generated and measured (0: none)")
    ap.add_argument("--populations", type=int, default=0,
                    help="more sets of each split's fit, each drawn with a seed of its own, averaged with the "
                         "split's set (0: none)")
    ap.add_argument("--sift-splits", type=int, default=10, help="SIFT splits measured (0: none)")
    ap.add_argument("--token-splits", type=int, default=3, help="token embedding splits measured (0: none)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--memory-n", type=sizes, default="250000,1000000",
                    help="sizes whose peak RSS is measured, comma-separated ('' for none)")
    args = ap.parse_args(argv)
    images, texts = load_shared(Path(args.shared))
    rows, mechanics, halves, samples, at_size, posteriors = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(max(1, args.splits)):
            s = split(images, texts, i)
            real = real_curves(s.base, s.queries, args.threads)
            synth, path = synthetic_curves(s, i, Path(tmp), args.threads)
            rows.append((real, synth))
            model = read_fitted(path)
            samples.append((float(pairing_stats(s.fit_images, s.fit_texts)[2]), model.modalities["text"].attr))
            synth_side = file_side(path)
            mechanics.append((split_mechanics(s.base, s.queries, real), split_mechanics(*synth_side, synth)))
            halves.append(half_curves(s, path, synth_side, i, Path(tmp), args.threads))
            at_size.append({"synthetic - real": (real, synth), **model_pairs(path, s, i, Path(tmp), args.threads)})
            if args.populations > 0:
                at_size[-1][POPULATIONS_PAIR] = (real, population_mean(path, s, i, synth, args.populations, Path(tmp),
                                                                       args.threads))
            if i < args.posterior_splits:
                posteriors.append((real, synth, posterior_spread(path, s, i, args.threads)))
            if i == 0:
                print(f"split 0: fitted on {len(s.fit_images)} images + {len(s.fit_texts)} texts, {len(s.base)} "
                      f"generated; real: {len(s.base)} images, {len(s.queries['text'])} text and "
                      f"{len(s.queries['image'])} image queries")
                print("\n".join([model.describe(), *fit_check.check_lines(model.source["check"], model.base)]))
                print("\n".join(point_table(real, synth)), end="\n\n", flush=True)
                print("\n".join(cross_table(s, synth_side, real, synth, args.threads)), end="\n\n", flush=True)
                if args.seeds:
                    print("\n".join(seed_table(s, path, real, args.seeds, Path(tmp), args.threads)), end="\n\n",
                          flush=True)
                    if args.scale_n:
                        print("\n".join(scale_table(path, args.scale_n, args.seeds, len(s.queries["text"]), Path(tmp),
                                                     args.threads)), end="\n\n", flush=True)
        print("\n".join(spread_table(rows)), end="\n\n", flush=True)
        print("\n".join(sample_table(rows, samples)), end="\n\n", flush=True)
        how = AT_SIZE + (f"; the mean of the split's set and {args.populations} more drawn with seeds of their own "
                         "from its fit, against the real base" if args.populations > 0 else "")
        print("\n".join(noise_table(by_title(at_size), len(s.base), how=how)), end="\n\n", flush=True)
        if posteriors:
            print("\n".join(posterior_table(posteriors, len(s.base))), end="\n\n", flush=True)
        print("\n".join(noise_table(by_title(halves), len(s.base) // 2)), end="\n\n", flush=True)
        print("\n".join(mechanics_table(mechanics)), flush=True)
        if args.sift_splits > 0:
            print(f"\nSIFT (the shared {SIFT_FILE.parent}, normalised: angular): fitted on {SIFT_N // 10} descriptors, "
                  f"{SIFT_N} generated; real: {SIFT_N} descriptors, {SIFT_QUERIES} held-out queries")
            x = load_sift(Path(args.shared))
            sift, checks = held_out_rows(x, SIFT_N, SIFT_QUERIES, args.sift_splits, Path(tmp), args.threads)
            print("\n".join([*spread_table(sift, {"image": "sift->sift"}), *checks]), end="\n\n", flush=True)
            twins = twin_rows(x, SIFT_TWIN_N, SIFT_QUERIES, args.sift_splits, Path(tmp), args.threads)
            print("\n".join(noise_table(by_title(twins), SIFT_TWIN_N, {"image": "sift->sift"},
                                         f"two disjoint real SIFT sets, the same {SIFT_QUERIES} held-out queries; "
                                         f"the synthetic set fitted on {SIFT_TWIN_N // 10} other rows; two draws "
                                         "of its fitted model; its own rows fitted again")),
                  flush=True)
        if args.token_splits > 0:
            print(f"\ntoken embeddings (wordllama's {TOKEN_FILE.name}: 32,000 x 256, normalised): fitted on "
                  f"{TOKEN_N // 10} rows, {TOKEN_N} generated; real: {TOKEN_N} rows, {TOKEN_QUERIES} held-out queries")
            tokens, checks = held_out_rows(load_tokens(), TOKEN_N, TOKEN_QUERIES, args.token_splits, Path(tmp),
                                           args.threads)
            print("\n".join([*spread_table(tokens, {"image": "token->token"}), *checks]), flush=True)
        if args.memory_n:
            like = write_like_source(images, texts, Path(tmp) / "clip-t2i.hdf5")
            print("\nmemory: make clip-synth --like (1000 images, 2148 texts; fit, generation, exact truth of "
                  "1000 + 1000 queries at K = 100), one process per n")
            print("\n".join(memory_table(like, args.memory_n, Path(tmp))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

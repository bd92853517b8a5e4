"""The geometry of "clip-synth": a small fixed model of CLIP ViT-B/32 embeddings.

Real CLIP vectors are far from isotropic, and indexes live off that: at equal
settings an IVF finds 72% of the 10 nearest neighbours of CLIP images and 16%
on isotropic Gaussian vectors. Each vector here is ``normalise(mean_scale *
mean + concept offset + per-vector spread)``, and the model keeps what matters:

- modality means far apart (the "modality gap": 0.95 between the image and the
  text mean; random image/text pairs have cosine 0.19, image pairs 0.52, text
  pairs 0.75), each carried mostly by a few outlier coordinates, as in CLIP
  (one coordinate holds 72% of the image mean's square norm; every image has
  its largest coordinate there), which matters to scalar and binary quantisers;
  the other modality's outlier coordinates barely vary ("quiet");
- a power-law variance spectrum (90% of the variance in ~150-200 of 512 dims)
  in a random basis per modality: image and text principal directions are
  unrelated in CLIP; the leading image directions lean on single coordinates;
- semantic structure: topic > concept > vector. Concepts cluster the images
  (nearest neighbour 0.79) and a shared per-concept code links them to texts
  (best text-to-image cosine 0.26: weak, as in CLIP);
- hubs kept in check: concept offsets carry little along the other modality's
  mean, or whole concepts become hubs that every text query retrieves, which
  makes text-to-image search easier than on CLIP.

The constants were fitted (by coordinate search, averaged over seeds) to the
real vectors in ../shared/data (1000 Flickr8k images, 2148 class-name prompts),
matching the statistics above and the recall@10 of IVF and HNSW indexes at
equal size; tests/test_synth.py checks both. No real vector is stored:
directions, bases and codes are drawn from the seed. The model's size is fixed
(a few d x d matrices and CONCEPTS x d centres), whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annbench.errors import UserError

TOPICS = 40         # coarse semantic groups
CONCEPTS = 512      # fine concepts, each in one topic, shared by both modalities
SHARED_TOPIC = 0.3  # share of the topic (vs the concept) in the cross-modal component
BLOCK = 2048        # rows drawn from one random stream: output never depends on chunking
FIT_D = 512         # the dimension the constants were fitted at
MIN_D = 16

# Outlier coordinates. Real CLIP ViT-B/32 puts most of each modality's mean on a
# few coordinates: one holds 72% of |mean|^2 for images, two twins 80% for texts;
# every image has its largest coordinate at the same place. Slots: 0 the image
# outlier, 1-2 the text twins, 3 a second text one, 4 a second image one (which
# coordinates they are is drawn from the seed). Weights are those of the unit
# mean direction; the rest of it is dense and random.
OUTLIERS = 5
MEAN_OUTLIERS = {"image": (-0.848, 0.117, 0.117, -0.021, 0.215),
                 "text": (-0.167, 0.635, 0.635, -0.235, -0.011)}
QUIET = {"image": (1, 2), "text": (0, 4)}  # the other modality's outliers barely vary in this one
OTHER = {"image": "text", "text": "image"}


@dataclass(frozen=True)
class Modality:
    """How one modality's vectors are spread around its mean (before L2 normalisation)."""

    mean_scale: float      # length of the mean vs a unit-variance residual: sets |mean| after normalising
    decay: float           # residual variance spectrum ~ (j + knee)^-decay * exp(-j / cutoff), j in dims at d=512
    knee: float
    cutoff: float
    topic_weight: float    # share of the residual's variance set by the topic
    concept_weight: float  # ... and by the concept (the rest varies per vector)
    spread_decay: float    # spectrum exponent of the per-vector part (steeper: neighbours lie on fewer directions)
    spread_jitter: float   # sd of the log of a per-concept scale on the per-vector part (tight and loose concepts)
    shared: float          # scale of the cross-modal component (the concept's shared code)
    quiet: float           # residual scale on the other modality's outlier coordinates
    hub: float             # scale of the concept offsets along the other modality's mean (concept-wide hubs)
    aligned: int           # leading principal directions that lean on one coordinate each ...
    lean: float            # ... with this weight (real image PCs do; text PCs do not)
    zipf: float            # concept popularity ~ rank^-zipf (0: uniform)


IMAGE = Modality(mean_scale=1.14, decay=0.9, knee=5.0, cutoff=300.0, topic_weight=0.15, concept_weight=0.25,
                 spread_decay=1.0, spread_jitter=0.1, shared=0.5, quiet=0.3, hub=0.5, aligned=28, lean=0.8, zipf=1.0)
TEXT = Modality(mean_scale=1.85, decay=0.8, knee=4.0, cutoff=220.0, topic_weight=0.05, concept_weight=0.6,
                spread_decay=0.8, spread_jitter=0.2, shared=0.4, quiet=0.5, hub=1.0, aligned=0, lean=0.0, zipf=0.0)
MODALITIES = {"image": IMAGE, "text": TEXT}


@dataclass(frozen=True)
class SynthModel:
    """The fixed part drawn from the seed; rows are then drawn block by block."""

    d: int
    seed: int
    centres: dict[str, np.ndarray]     # modality -> (CONCEPTS, d) float32: mean + concept offset
    mixers: dict[str, np.ndarray]      # modality -> (d, d) float32: iid normals -> within-concept spread
    spreads: dict[str, np.ndarray]     # modality -> (CONCEPTS,) float32: scale of that spread per concept
    popularity: dict[str, np.ndarray]  # modality -> (CONCEPTS,) probabilities


def orthonormal_rows(x: np.ndarray) -> np.ndarray:
    """Gram-Schmidt on the rows, in order (row 0 keeps its direction)."""
    q, r = np.linalg.qr(x.T)
    return (q * np.sign(np.diag(r))).T


def power_spectrum(d: int, knee: float, decay: float, cutoff: float) -> np.ndarray:
    """Variance per principal direction ~ (j + knee)^-decay * exp(-j / cutoff), j in dims at d=512; sums to 1."""
    j = np.arange(d) * (FIT_D / d)
    lam = (j + knee) ** (-decay) * np.exp(-j / cutoff)
    return lam / lam.sum()


def spectrum(d: int, m: Modality, decay: float | None = None) -> np.ndarray:
    """Variance per principal direction, summing to 1; the shape is the same at any d."""
    return power_spectrum(d, m.knee, m.decay if decay is None else decay, m.cutoff)


def _mean_direction(rng: np.random.Generator, d: int, weights: tuple, outliers: np.ndarray) -> np.ndarray:
    dense = rng.standard_normal(d)
    dense[outliers] = 0.0
    dense *= np.sqrt(max(0.0, 1.0 - float(np.square(weights).sum()))) / np.linalg.norm(dense)
    dense[outliers] = weights
    return dense


def _basis(rng: np.random.Generator, d: int, m: Modality, axes: np.ndarray) -> np.ndarray:
    """Random principal directions; the first ``m.aligned`` lean on coordinates ``axes``."""
    rows = orthonormal_rows(rng.standard_normal((d, d)))
    lead = min(m.aligned, len(axes))
    rows[np.arange(lead), axes[:lead]] += m.lean / np.sqrt(max(1e-12, 1.0 - m.lean ** 2))
    return orthonormal_rows(rows) if lead else rows


def _modality(m: Modality, d: int, mean: np.ndarray, other: np.ndarray, basis: np.ndarray, quiet: np.ndarray,
              codes: tuple[np.ndarray, np.ndarray], shared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concept centres and the within-concept mixing matrix of one modality."""
    lam = spectrum(d, m)
    column_scale = np.ones(d)
    column_scale[quiet] = m.quiet
    topic_codes, concept_codes = codes
    offsets = (np.sqrt(m.topic_weight) * topic_codes + np.sqrt(m.concept_weight) * concept_codes) * np.sqrt(lam)
    offsets = (offsets @ basis + m.shared * shared / np.sqrt(d)) * column_scale
    toward = other / np.linalg.norm(other)
    offsets += (m.hub - 1.0) * np.outer(offsets @ toward, toward)
    spread = np.sqrt((1.0 - m.topic_weight - m.concept_weight) * spectrum(d, m, m.spread_decay))
    mixer = (spread[:, None] * basis) * column_scale
    return (m.mean_scale * mean + offsets).astype(np.float32), mixer.astype(np.float32)


def _codes(rng: np.random.Generator, d: int, topic_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per concept: its topic's code and its own, both (CONCEPTS, d) standard normal."""
    return rng.standard_normal((TOPICS, d))[topic_of], rng.standard_normal((CONCEPTS, d))


def build_model(d: int = FIT_D, seed: int = 0, modalities: dict[str, Modality] | None = None) -> SynthModel:
    """Draw the fixed model; ``modalities`` overrides the fitted constants (for calibration)."""
    if d < MIN_D:
        raise UserError(f"clip-synth needs d >= {MIN_D}, got d={d}")
    mods = {**MODALITIES, **(modalities or {})}
    rng = np.random.default_rng([seed, 0])
    coords = rng.permutation(d)
    outliers, axes = coords[:OUTLIERS], coords[OUTLIERS:]
    topic_of = rng.integers(0, TOPICS, CONCEPTS)
    codes = _codes(rng, d, topic_of)
    shared_topic, shared_concept = _codes(rng, d, topic_of)
    shared = np.sqrt(SHARED_TOPIC) * shared_topic + np.sqrt(1.0 - SHARED_TOPIC) * shared_concept
    rank = rng.permutation(CONCEPTS)
    centres, mixers, spreads, popularity = {}, {}, {}, {}
    means = {name: _mean_direction(rng, d, MEAN_OUTLIERS[name], outliers) for name in mods}
    for name, m in mods.items():
        basis = _basis(rng, d, m, axes)
        centres[name], mixers[name] = _modality(m, d, means[name], means[OTHER[name]], basis,
                                                outliers[list(QUIET[name])], codes, shared)
        jitter = rng.standard_normal(CONCEPTS) * m.spread_jitter
        spreads[name] = np.exp(jitter - m.spread_jitter ** 2).astype(np.float32)  # mean square 1
        p = (rank + 1.0) ** (-m.zipf)
        popularity[name] = p / p.sum()
    return SynthModel(d, seed, centres, mixers, spreads, popularity)


def _block(model: SynthModel, modality: str, stream: int, index: int) -> np.ndarray:
    rng = np.random.default_rng([model.seed, 1 + stream, index])
    concept = rng.choice(CONCEPTS, BLOCK, p=model.popularity[modality])
    x = rng.standard_normal((BLOCK, model.d), dtype=np.float32) @ model.mixers[modality]
    x *= model.spreads[modality][concept, None]
    x += model.centres[modality][concept]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def concepts(model: SynthModel, modality: str, stream: int, start: int, stop: int) -> np.ndarray:
    """The concept (0..CONCEPTS-1) of rows ``start:stop`` of a stream: the first draw of each block's
    stream, as :func:`_block` makes it. Stored as the attribute ``concept``: a filter correlated with
    the vectors' clusters, unlike the seeded random one."""
    out = np.empty(max(0, stop - start), dtype=np.int64)
    for b in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, b * BLOCK), min(stop, (b + 1) * BLOCK)
        drawn = np.random.default_rng([model.seed, 1 + stream, b]).choice(CONCEPTS, BLOCK, p=model.popularity[modality])
        out[lo - start:hi - start] = drawn[lo - b * BLOCK:hi - b * BLOCK]
    return out


def generate(model, modality: str, stream: int, start: int, stop: int, block=_block) -> np.ndarray:
    """Rows ``start:stop`` of a stream of unit vectors (float32); the same rows whatever the slicing.

    Each BLOCK of rows has its own random stream, keyed by (seed, stream, block),
    and is computed whole, so a chunked writer and a one-shot call give
    identical bytes (on one machine: BLAS builds may round differently).
    ``block(model, modality, stream, index)`` makes one BLOCK of rows: the
    built-in model's by default, a fitted model's (:mod:`annbench.data.synth_tree`) otherwise.
    """
    out = np.empty((max(0, stop - start), model.d), dtype=np.float32)
    for b in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, b * BLOCK), min(stop, (b + 1) * BLOCK)
        out[lo - start:hi - start] = block(model, modality, stream, b)[lo - b * BLOCK:hi - b * BLOCK]
    return out

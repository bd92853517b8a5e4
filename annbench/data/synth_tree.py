"""Rows of clip-synth fitted to a sample (``--like``): the built-in model's principles, with a concept tree.

The built-in model (:mod:`annbench.data.synth_geometry`) has three levels,
topic > concept > vector. Fitted to a sample that is to be scaled up tenfold
or ten-thousandfold, a fixed number of concepts would turn into a few dense
blobs; here the concepts form a binary tree, each level splitting every
concept in two, and the residual variance left below level ``l`` is
``2^(-alpha * l)``: nearest neighbours get closer as a power of n, as they do
in real CLIP data (1 - nearest-neighbour cosine falls as about n^-0.1 from 20
to 1000 images). Some concepts are tighter than others (``sigma``), and each
spreads more along some directions than others (``tau``: every node of the top
levels scales each latent coordinate of its subtree by a log-normal factor of
mean square 1, so the spectrum is kept on average). Real CLIP neighbourhoods
are like that: neighbours are close because a neighbourhood varies along few
directions of its own (intrinsic dimension ~21 at 900 images, MLE over 10 neighbours) more than because
concepts are tight and far apart, which an inverted file's cells would separate
(image-to-image IVF recall at nprobe 1 too high by 0.13 without ``tau``). A row is

    normalise(scale * mean + unit(tree offsets and own noise @ mixer))

where the mixer maps the latent to a power-law spectrum in a random basis (as
the built-in model), with the residual along the other modality's mean scaled
by ``hub``; rows of the other modality may add a deviation shaped like this
modality's (``coupling``: the text-image pairing). Each residual has the same
length, so how far a row leans on the mean does not depend on how tight its
concept is (tried: residuals of free length spread the rows' cosine to the mean
as in CLIP, but made the rows near the mean hubs for every text query, and
text-to-image IVF recall 0.1 to 0.3 too high). The price: a tight concept's
centre sits further out, so the realised spectrum is steeper at the top than
the one the mixer is given; the fit matches the realised one
(:mod:`annbench.data.synth_fit`), though the top text direction stays too strong.

Three more parts, each found by comparing the mechanics of real and synthetic
sets (bench/synth_fit.py's last table):

- ``radial``: each of the top RADIAL levels' nodes draws a log-length for its
  subtree's residuals (a unit residual then scaled by a log-normal of mean 1).
  In CLIP, images leaning more on their mean have much closer neighbours (the
  correlation of the cosine to the mean with the 10th-nearest-neighbour cosine
  is 0.82 over 900 images) and the cosine to the mean spreads (sd 0.070, here
  0.018 without it). A shortened residual also leans away from the other
  modality's mean (``tilt``, along its part orthogonal to this mean), as real
  images near their mean lean away from the texts (the correlation is -0.77);
  without the tilt, text->image IVF recall at nprobe 4 is +0.21 too high.
- ``attr``: a pool of ATTRS shared directions orthogonal to both means. A base
  row gives a share of its residual to two of them, picked by a hash of its node
  at ATTR_LEVEL (rows that share that deep node, near-duplicates, share them);
  a row of the other modality gives its share to one, at random. A text's best
  matches are then the images holding its attribute, spread over the tree's
  cells rather than gathered in one: real texts' best match stands out (z-score
  3.76 over 900 images) where without attributes the model's texts' did less
  (3.15), and an inverted file found their neighbours too easily.

The top EXACT levels' draws are evened per level (``even_columns``, ``normal_scores``): a level's
offsets and warps have mean square 1 along every latent coordinate, its scalar draws (subtree scales and
residual lengths) are the normal quantiles of their ranks. Which node draws what is still the seed's,
but not how the few nodes of the top levels happen to spread, which at a few hundred rows decided as
much of a set's recall as the fit did (bench/synth_fit.py: five sets of split 0's fit at 900 rows,
text->image IVF nprobe 4 sd 0.046 before, 0.029 after, and two of them meet the goal against each other
on 6 pairs of 10, before 1; splits meeting the goal 4 of 10 before, 6 after; SIFT 7 before, 6 after).

Memory is fixed whatever n: per modality a d x d mixer, an offset per node for
the top EXACT levels (centred, so the rows' mean is the fitted mean) and
HASHED shared rows for deeper levels (a node there sums two of them, picked by
a hash of its path), and the ATTRS attribute directions. Everything is drawn
from the seed; blocks of rows are keyed as in synth_geometry, so the same rows
come out however they are chunked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from annbench.data.synth_fitted import FittedModality, FittedModel
from annbench.data.synth_geometry import BLOCK, orthonormal_rows, power_spectrum

DEPTH = 30      # levels of the tree (2^30 leaves; deeper variation is each row's own noise)
EXACT = 10      # levels 0..EXACT-1 keep an offset per node (level l has 2^(l+1) nodes)
HASHED = 2048   # shared offsets for the nodes of deeper levels
JITTER = range(12)  # levels whose nodes also draw a scale for their whole subtree
RADIAL = 10      # levels whose nodes draw the log-length of their subtree's residuals (``radial``)
ATTRS = 64      # shared attribute directions
ATTR_LEVEL = 10  # a base row's two attributes are picked by its node at this level (near-duplicates share them)
SALT = {"base": 1, "other": 2}


def level_variances(alpha: float) -> tuple[np.ndarray, float]:
    """Share of the residual variance at each level, and the share left to each row's own noise."""
    r = 2.0 ** (-alpha)
    return (1.0 - r) * r ** np.arange(DEPTH), float(r ** DEPTH)


def path(bits: np.ndarray, levels: int):
    """``(level, node)`` down each row's path (``bits``: one 0/1 per level) for the top ``levels`` levels."""
    node = np.zeros(len(bits), dtype=np.int64)
    for level in range(levels):
        node = node * 2 + bits[:, level]
        yield level, node


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread hash of uint64 values."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def even_columns(rows: np.ndarray) -> None:
    """In place: each column of a level's draws centred, with mean square 1 (every latent coordinate
    gets the same share of the level's spread)."""
    rows -= rows.mean(axis=0)
    rows /= np.sqrt(np.mean(rows * rows, axis=0))


@lru_cache(maxsize=None)
def _normal_quantiles(m: int) -> np.ndarray:
    q = np.array([NormalDist().inv_cdf((i + 0.5) / m) for i in range(m)])
    return (q / np.sqrt(np.mean(q * q))).astype(np.float32)


def normal_scores(draws: np.ndarray) -> np.ndarray:
    """A level's scalar draws replaced by the normal quantiles of their ranks, mean square 1: which node gets
    a high value stays drawn, how many do is not."""
    out = np.empty(len(draws), dtype=np.float32)
    out[np.argsort(draws)] = _normal_quantiles(len(draws))
    return out


class Tables:
    """The offsets (and subtree scales) of one modality's tree nodes."""

    def __init__(self, d: int, seed: int, salt: int):
        rng = np.random.default_rng([seed, 7, salt])
        self.exact = rng.standard_normal(((2 << EXACT) - 2, d), dtype=np.float32)
        self.hashed = rng.standard_normal((HASHED, d), dtype=np.float32)
        self.jitter_exact = rng.standard_normal(len(self.exact)).astype(np.float32)
        self.jitter_hashed = rng.standard_normal(HASHED).astype(np.float32)
        self.warp_exact = rng.standard_normal(((2 << EXACT) - 2, d), dtype=np.float32)  # drawn last: the
        self.warp_hashed = rng.standard_normal((HASHED, d), dtype=np.float32)           # tables above keep their rows
        self.radial = rng.standard_normal((2 << RADIAL) - 2).astype(np.float32)
        for level in range(EXACT):  # evened per level (see the module): the children of the root average to zero
            nodes = slice((2 << level) - 2, (4 << level) - 2)
            even_columns(self.exact[nodes])
            even_columns(self.warp_exact[nodes])
            self.jitter_exact[nodes] = normal_scores(self.jitter_exact[nodes])
        for level in range(RADIAL):  # its own levels: the radial table is sized by RADIAL, not EXACT
            nodes = slice((2 << level) - 2, (4 << level) - 2)
            self.radial[nodes] = normal_scores(self.radial[nodes])
        with np.errstate(over="ignore"):
            self.salt = np.uint64(seed % (1 << 32)) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)

    def _hash(self, level: int, nodes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            key = nodes.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03) + np.uint64(level) * np.uint64(
                0x8CB92BA72F3D8DD7) + self.salt
        return _mix64(key)

    def offsets(self, level: int, nodes: np.ndarray) -> np.ndarray:
        if level < EXACT:
            return self.exact[(2 << level) - 2 + nodes]
        h = self._hash(level, nodes)
        a = (h % np.uint64(HASHED)).astype(np.int64)
        b = ((h >> np.uint64(24)) % np.uint64(HASHED)).astype(np.int64)
        sa = np.where((h >> np.uint64(62)) & np.uint64(1), 1.0, -1.0).astype(np.float32)
        sb = np.where(h >> np.uint64(63), 1.0, -1.0).astype(np.float32)
        return (sa[:, None] * self.hashed[a] + sb[:, None] * self.hashed[b]) * np.float32(np.sqrt(0.5))

    def jitter(self, level: int, nodes: np.ndarray) -> np.ndarray:
        if level < EXACT:
            return self.jitter_exact[(2 << level) - 2 + nodes]
        return self.jitter_hashed[(self._hash(level, nodes) >> np.uint64(8)) % np.uint64(HASHED)]

    def log_length(self, bits: np.ndarray) -> np.ndarray:
        """Each row's residual log-length, the mean of its top RADIAL nodes' draws (unit variance)."""
        total = np.zeros(len(bits), dtype=np.float32)
        for level, node in path(bits, RADIAL):
            total += self.radial[(2 << level) - 2 + node]
        return total / np.float32(np.sqrt(RADIAL))

    def attributes(self, bits: np.ndarray, k: int) -> np.ndarray:
        """``k`` attribute ids per row, picked by a hash of its node at ATTR_LEVEL."""
        *_, (_, node) = path(bits, ATTR_LEVEL)
        h = self._hash(100 + ATTR_LEVEL, node)
        return np.stack([(h >> np.uint64(16 * j)) % np.uint64(ATTRS) for j in range(k)], axis=1).astype(np.int64)

    def warp(self, level: int, nodes: np.ndarray) -> np.ndarray:
        """A node's log-scale per latent coordinate (``tau``: its subtree spreads along some directions more)."""
        if level < EXACT:
            return self.warp_exact[(2 << level) - 2 + nodes]
        return self.warp_hashed[(self._hash(level, nodes) >> np.uint64(16)) % np.uint64(HASHED)]


def latent(tables: Tables, m: FittedModality, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sum of a row's node offsets down its path (``bits``: one 0/1 per level) plus its own noise."""
    n, d = len(bits), tables.exact.shape[1]
    v, rest = level_variances(m.alpha)
    sig = np.float32(m.sigma / np.sqrt(len(JITTER)))
    tau = np.float32(m.tau / np.sqrt(len(JITTER)))
    z = np.zeros((n, d), dtype=np.float32)
    scale = np.ones(n, dtype=np.float32)
    warp = None  # per-coordinate scales of the row's subtree (None: all 1)
    for level, node in path(bits, DEPTH):
        offset = tables.offsets(level, node)
        z += (np.float32(np.sqrt(v[level])) * scale)[:, None] * (offset if warp is None else warp * offset)
        if level in JITTER and sig:
            scale = scale * np.exp(sig * tables.jitter(level, node) - sig * sig)
        if level in JITTER and tau:
            step = np.exp(tau * tables.warp(level, node) - tau * tau)  # mean square 1: the spectrum is kept on average
            warp = step if warp is None else warp * step
    noise = rng.standard_normal((n, d), dtype=np.float32)
    z += (np.float32(np.sqrt(rest)) * scale)[:, None] * (noise if warp is None else warp * noise)
    return z


def mixer(m: FittedModality, basis: np.ndarray, toward: np.ndarray | None) -> np.ndarray:
    """Latent -> residual: the fitted spectrum in ``basis``, scaled by ``hub`` along ``toward``."""
    lam = power_spectrum(len(basis), m.knee, m.decay, m.cutoff)
    out = np.sqrt(lam)[:, None] * basis
    if toward is not None and m.hub != 1.0:
        u = toward / np.linalg.norm(toward)
        out = out + (m.hub - 1.0) * np.outer(out @ u, u)
    return out.astype(np.float32)


@dataclass
class TreeGenerator:
    """A fitted model made concrete for one seed: what ``generate`` needs to draw any block of rows."""

    model: FittedModel
    seed: int

    def __post_init__(self):
        m = self.model  # a private copy of the parameters: the fit changes them in place
        self.model = FittedModel(m.d, m.base, dict(m.modalities), dict(m.source))
        d, names = self.model.d, list(self.model.modalities)
        rng = np.random.default_rng([self.seed, 3])
        self.d = d
        self.tables = {name: Tables(d, self.seed, SALT["base" if i == 0 else "other"]) for i, name in enumerate(names)}
        self.bases = {name: orthonormal_rows(rng.standard_normal((d, d))) for name in names}
        self.mixers = {}
        for name in names:
            self.refresh(name)
        means = np.array([m.mean for m in self.model.modalities.values()], dtype=np.float64)
        pool = np.random.default_rng([self.seed, 9]).standard_normal((ATTRS, d))
        pool -= (pool @ np.linalg.pinv(means)) @ means  # orthogonal to every mean
        self.attrs = orthonormal_rows(pool).astype(np.float32)

    def refresh(self, name: str) -> None:
        """Rebuild one modality's mixer from its parameters."""
        other = self.model.other_than(name)
        toward = self.model.modalities[other].mean if other else None
        self.mixers[name] = mixer(self.model.modalities[name], self.bases[name], toward)

    def update(self, name: str, **changes) -> None:
        """Change some of one modality's parameters (the fit refines them a few at a time)."""
        self.model.modalities[name] = replace(self.model.modalities[name], **changes)
        self.refresh(name)

    def away(self, name: str) -> np.ndarray:
        """The unit part of the other modality's mean orthogonal to this one's (``tilt``'s direction)."""
        own = self.model.modalities[name].mean
        u = self.model.modalities[self.model.other_than(name)].mean
        v = u - (u @ own) * own
        return (v / np.linalg.norm(v)).astype(np.float32)

    def rows(self, name: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` unit rows of modality ``name``, drawn from ``rng`` (float32)."""
        m = self.model.modalities[name]
        bits = rng.integers(0, 2, (n, DEPTH), dtype=np.int64)
        r = latent(self.tables[name], m, bits, rng) @ self.mixers[name]
        other = self.model.other_than(name)
        if m.coupling and other:
            w = rng.standard_normal((n, self.d), dtype=np.float32) @ self.mixers[other]
            r = np.float32(np.sqrt(1.0 - m.coupling ** 2)) * r + np.float32(m.coupling) * w
        r /= np.maximum(np.linalg.norm(r, axis=1, keepdims=True), np.float32(1e-30))
        if m.attr:  # a base row holds two attributes of its deep node, another modality's row one at random
            ids = (self.tables[name].attributes(bits, 2) if name == self.model.base
                   else rng.integers(0, ATTRS, (n, 1)))
            a = self.attrs[ids].sum(axis=1) / np.float32(np.sqrt(ids.shape[1]))
            r = np.float32(np.sqrt(1.0 - m.attr)) * r + np.float32(np.sqrt(m.attr)) * a
            r /= np.maximum(np.linalg.norm(r, axis=1, keepdims=True), np.float32(1e-30))
        if m.radial:
            length = np.exp(np.float32(m.radial) * self.tables[name].log_length(bits) - np.float32(m.radial ** 2 / 2))
            r *= length[:, None]
            if other and m.tilt:
                r += np.float32(m.tilt) * (length - 1)[:, None] * self.away(name)[None, :]
        x = r + np.float32(m.scale) * m.mean.astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x


def tree_block(gen: TreeGenerator, modality: str, stream: int, index: int) -> np.ndarray:
    """One BLOCK of rows, keyed by (seed, stream, block) as synth_geometry's blocks are."""
    return gen.rows(modality, BLOCK, np.random.default_rng([gen.seed, 1 + stream, index]))

"""The parameters of clip-synth fitted to a sample (``--like``), and how a dataset file stores them.

A fitted model is small: per modality a mean direction (d numbers) and ten
scalars; the random basis, the concept tree's offsets and every row are drawn
from the seed (:mod:`annbench.data.synth_tree`). It lives in the dataset's
``annbench`` attrs, so a file says what it was fitted to: ``synth_fit`` (JSON:
the source's name, fingerprint and sizes, the sample sizes, every scalar) and
``synth_fit_mean_<modality>`` (the mean directions, float64).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

import numpy as np

from annbench.errors import UserError

ATTR = "synth_fit"
MEAN_ATTR = "synth_fit_mean_"
FORMAT = 3  # bump when the meaning of a stored parameter changes (3: the top tree levels evened)


@dataclass(frozen=True)
class FittedModality:
    """How one modality's rows spread around its mean (see synth_tree for how rows are made)."""

    mean: np.ndarray  # unit mean direction of the sample
    scale: float      # length of the mean vs a unit residual (sets |mean| of the unit rows)
    knee: float       # residual spectrum ~ (j + knee)^-decay * exp(-j / cutoff)
    decay: float
    cutoff: float
    hub: float        # residual scale along the other modality's mean (1: untouched)
    alpha: float      # concept tree: the variance below level l is 2^(-alpha * l)
    sigma: float      # spread of tight and loose concepts (log-scale sd over the jitter levels)
    tau: float = 0.0  # anisotropy of subtrees (log-scale sd per latent coordinate over the jitter levels)
    coupling: float = 0.0  # share of an other-modality-like deviation (cross-modal pairing)
    radial: float = 0.0  # log-scale sd of the residual's length over the top subtrees (near the mean: dense)
    tilt: float = 0.0    # a shortened residual leans away from the other modality's mean by this much
    attr: float = 0.0    # share of the residual given to shared attribute directions
    sample: int = 0   # rows of the sample this modality was fitted on

    def scalars(self) -> dict:
        return {f.name: float(getattr(self, f.name)) if f.name != "sample" else int(self.sample)
                for f in fields(self) if f.name != "mean"}


@dataclass(frozen=True)
class FittedModel:
    """Both modalities (the base's first), the dimension, and what the model was fitted to."""

    d: int
    base: str                                  # the modality of the base rows
    modalities: dict[str, FittedModality]      # base modality first, then the other one (if any)
    source: dict = field(default_factory=dict) # name, fingerprint, rows, sample sizes, seed

    def other_than(self, name: str) -> str | None:
        return next((m for m in self.modalities if m != name), None)

    @property
    def other(self) -> str | None:
        """The modality of the cross-modal queries (None when the model has one modality)."""
        return self.other_than(self.base)

    def to_attrs(self) -> dict:
        """HDF5 attrs: one JSON string and one float64 array per modality (each well under 64 KiB at d <= 4096)."""
        doc = {"format": FORMAT, "d": self.d, "base": self.base, "source": self.source,
               "modalities": {name: m.scalars() for name, m in self.modalities.items()}}
        out = {ATTR: json.dumps(doc, sort_keys=True)}
        out.update({MEAN_ATTR + name: np.asarray(m.mean, dtype=np.float64) for name, m in self.modalities.items()})
        return out

    @classmethod
    def from_attrs(cls, attrs: dict) -> FittedModel:
        if ATTR not in attrs:
            raise UserError("this dataset was not made by clip-synth --like (no fitted model in its attrs)")
        doc = json.loads(attrs[ATTR])
        if doc.get("format") != FORMAT:
            raise UserError(f"fitted model format {doc.get('format')} is not {FORMAT}: remake the dataset")
        mods = {name: FittedModality(mean=np.asarray(attrs[MEAN_ATTR + name], dtype=np.float64), **scalars)
                for name, scalars in doc["modalities"].items()}
        return cls(int(doc["d"]), str(doc["base"]), mods, dict(doc["source"]))

    def describe(self) -> str:
        """One line per modality: what a person reading ``datasets stats`` or a report wants to know."""
        src = self.source
        lines = [f"fitted to {src.get('name', '?')} ({src.get('fingerprint', '?')}), seed {src.get('seed', '?')}"]
        for name, m in self.modalities.items():
            lines.append(f"  {name}: sample {m.sample}, alpha {m.alpha:.3f}, sigma {m.sigma:.2f}, tau {m.tau:.2f}, "
                         f"hub {m.hub:.2f}, coupling {m.coupling:.2f}, radial {m.radial:.2f}, tilt {m.tilt:.2f}, "
                         f"attributes {m.attr:.2f}, spectrum knee {m.knee:.2f} "
                         f"decay {m.decay:.2f} cutoff {m.cutoff:.0f}")
        return "\n".join(lines)


def read_fitted(path) -> FittedModel:
    """The fitted model stored in a dataset file made by ``clip-synth --like``."""
    from annbench.data.hdf5io import EXT, open_h5

    with open_h5(path) as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f[EXT].attrs.items()} if EXT in f else {}
    return FittedModel.from_attrs(attrs)


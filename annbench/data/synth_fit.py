"""Fit clip-synth to a sample of a real dataset (``annbench datasets make clip-synth --like DATASET``).

Every parameter of the model (:mod:`annbench.data.synth_tree`) comes from the
sample, the base's modality and, when the dataset has query sets of another
modality (text queries of an image base), that one too:

- the mean direction, from the sample directly;
- the spectrum: a power law whose rows, drawn at the sample's size, show the
  sample's cumulative spectrum (so it extends past the n - 1 directions a
  sample can see): first as Gaussian rows, then, once the tree is fitted, as
  the model's own rows (the tree and the normalising bend the spectrum);
- ``hub``: the spread along the other modality's mean, and ``scale``: the model's
  |mean|, calibrated on drawn rows until both equal the sample's;
- ``alpha``, ``sigma`` and ``tau`` (how the concept tree tightens with depth, how
  uneven its concepts are in size, in shape): over a grid, synthetic samples of
  the real sample's size are compared with it on the percentiles of the
  nearest-neighbour cosine (:mod:`annbench.data.synth_moments`), and the grid's
  likelihood-weighted mean kept. ``tau`` lets neighbours be close through a
  subtree's few own directions rather than through tight, well separated
  concepts: without it, the fit could match the sample's neighbours only with
  concepts an inverted file separates too well (image-to-image IVF recall at
  nprobe 1 +0.13 on average over the benchmark's splits, with it +0.05);
- ``radial`` and ``tilt`` (the base only): calibrated with ``scale`` and ``hub``
  to the sample's spread of the rows' cosine to their mean and the slope of
  their cosine to the other mean's orthogonal part on it;
- ``attr``: the base's share is fixed, ATTR_FIT while its tree is fitted and
  ATTR after (then its spectrum is fitted again): a sample of 90 images cannot
  tell it (in the fit from the start at 0.25, image->image IVF nprobe 1 +0.071
  over 10 splits: the tree tightens to make up the neighbours' closeness; added
  after the fit only, the images' 90th-percentile nearest-neighbour cosine at
  the sample's size falls 0.05 short); the other modality's share is fitted with
  ``coupling`` (the text-image pairing) to the sample's cross-modal best and
  5th-best cosine, the best match's z-score among a text's scores and their
  kurtosis, over a grid, its likelihood-weighted mean kept.

Tried and dropped: text rows drawn around a virtual image of the image tree
(pairing aimed at concepts; text-to-image IVF then too easy by 0.05 to 0.13),
and the share of each row's nearest neighbour in its own cell of a k-means
(matched at 90 rows, it left image-to-image IVF at nprobe 1 as easy as before;
again with ``tau``, at sqrt(n) cells: +0.08). With ``tau`` (bench/synth_fit.py,
5 splits, the worst point's mean): ``tau`` fitted to the base only, +0.08
(text-to-image IVF nprobe 4); a warp that keeps each band of 16 neighbouring
directions' variance, so no row gets more of the top directions, +0.08; the
median 5th-nearest-neighbour cosine as a fourth statistic, +0.08 (image-to-image
IVF nprobe 1); a coarser grid (sigma step 0.3, tau 0.75), +0.08. Also tried (5 splits): soft splits of
the top 10 levels of the image tree only (each row leaning towards its node's sibling): image-to-image
within 0.034 on every split, but text-to-image IVF nprobe 4 +0.078 +- 0.037; a spread of the rows'
cosine to their own mean (real CLIP: sd 0.068 for images, 0.039 for texts; here at most 0.039 and
0.007), matched on the sample: as images' it fixes image-to-image IVF nprobe 1 (+0.02) but makes the
rows near the mean hubs (text-to-image HNSW ef 10 +0.11), as texts' it changes nothing; text rows aimed
at a deep node of the image tree (a few images, not a cell): IVF easier still; the spectrum's cutoff
held at 600 or 3000 (the sample cannot see it): no better; soft splits (a row keeping 0.7 to 1 of its
own node's offset, top 10 levels) with top-5-level subtrees of log-normal looseness (sd 0.6), both
modalities, over 10 splits: text-to-image IVF nprobe 4 +0.088 -> +0.055 +- 0.050 and image-to-image IVF
nprobe 1 +0.051 -> +0.021 +- 0.059 (one split +0.151), +0.068 and +0.022 with the looseness
standardised per level: means nearer, single splits further off.
Also tried (bench/synth_fit.py's last table says what each aimed at): text rows with the image model's
10 leading directions projected out, leaning (by 0 to 0.8, fitted with coupling to the best and
5th-best match and to the texts' share of variance in the sample images' 10 leading directions) on
one of the image tree's shared deep offsets, with the local intrinsic dimension as a 4th structure
statistic (10 splits): text-to-image IVF nprobe 4 +0.036 +- 0.049 but HNSW ef 10 -0.063 +- 0.027;
a per-row or per-subtree spread of the images' weight on their mean along its part orthogonal to
the text mean, the cosine to the text mean kept (4 splits): IVF nprobe 4 +0.115, HNSW ef 10 -0.17;
a share (0.15, 0.3) of image rows with offsets of their own at the top 5 levels (in no concept
there), refitted (10 splits): text-to-image IVF nprobe 4 +0.066 and +0.062, image-to-image IVF
nprobe 4 -0.023 and -0.054; rows drawn around the sample's own (a real row's residual mixed with a
model row's, weight 0.6 to 0.8; 3 splits): image-to-image IVF nprobe 1 +0.36 at 0.6 (lumps), -0.07
at 0.8, text-to-image IVF nprobe 16 +0.075 throughout. Shared attributes (a pool of 100 random
directions; each image row gives a share G of its residual to 2 of them, or 1, each text row a share
L to 1): the first change found that moves IVF and HNSW apart. Added to the fitted model without a
refit (2 splits), G = L = 0.15 leaves every point within 0.06 (text-to-image IVF nprobe 4 -0.022,
HNSW ef 10 -0.053; image-to-image IVF nprobe 1 +0.036), and G = 0.3, L = 0.4 turns the gap round
(IVF nprobe 4 -0.095, HNSW ef 10 +0.30). But the sample cannot tell G: with G in the structure grid
(0 to 0.3, images holding 1) and L fitted with coupling (10 splits), the fit chose G from 0.07 to
0.2 and tightened the tree to keep the nearest-neighbour cosine: text-to-image IVF nprobe 4
-0.037 +- 0.055, HNSW ef 10 -0.069 +- 0.039, image-to-image IVF nprobe 1 +0.087 +- 0.047.
The images' uneven lean on their mean (real CLIP: sd of the cosine 0.070, this model 0.018): the
residual scaled along the image mean, the axis tilted from it towards its part orthogonal to the
text mean, both calibrated (as ``hub``) to the sample's spread of the cosine and its slope of the
cosine to the text mean on it, no other refit (4 splits): text-to-image IVF nprobe 4 +0.066 ->
+0.041, HNSW ef 10 -0.030 -> -0.082; the farthest tenth's share of the texts' neighbours went
from 0.11 and 0.26 to 0.07 and 0.15 (splits 0 and 1; real 0.05). The same spread, made by turning each row
from the mean's axis towards its own leading directions: rows at one end become hubs (IVF nprobe 4
+0.09, 2 splits). The residual made orthogonal to the image mean, so no row leans less on it
(2 splits): HNSW ef 10 +0.007 and +0.026, IVF nprobe 4 +0.001 and +0.015. A spectrum flattening
with depth (level l's variance along principal direction j ~ lam_j^(1 - phi t_l), t from -1 at
the root to 1, as real nearest neighbours differ less along the leading directions than the
model's: at 900 rows 0.036 of their difference lies in the top 3 against 0.056 to 0.076; 2
splits, phi 0.5 and 1): HNSW ef 10 moved by -0.05 and -0.08, IVF not; with the coupling shaped
like the deepest level too, IVF nprobe 4 by -0.018 and -0.042, HNSW ef 10 by -0.07 and -0.11.
Shared attributes once more (256 directions; an image holds 2, a text 1), now with what tells the
texts' share: a real text's best match stands out (its z-score among the text's scores over the
sample's images 2.68 to 2.77, the model's 2.46), so coupling and the texts' share were fitted
together to the best and 5th-best cosine, that z-score and the scores' kurtosis; the images' share
held at 0.3 of the residual, the tree refitted with it (4 splits): every text->image point within
0.04, but the tree made up for the looser neighbours with tight concepts (sigma 0.86 to 0.88, the
grid's edge): image->image IVF nprobe 1 +0.17. The tree fitted first and the images' share (0.25)
added after: every point's mean within 0.05 (text->image IVF nprobe 4 -0.018, image->image IVF
nprobe 4 -0.046; one split -0.087), but the images' nearest-neighbour cosine at the sample's size
then falls 0.05 to 0.10 below the sample's (50th and 90th percentile): not kept. Taken from each row's
own noise only: text->image IVF nprobe 4 +0.063, image->image IVF nprobe 1 +0.109. The subtree
scales on the top 6 or 4 levels only (4 splits): the fit wanders, text->image IVF nprobe 4 +0.057
+- 0.097 and +0.050 +- 0.068. The levels below 4 (or 6) replaced by a Gaussian in one shared rank 40
(20) subspace: +0.043 (+0.113), image->image IVF nprobe 4 -0.053 (the fit took alpha to 0 and tau to
the grid's edge). Offsets below level 3 keyed by the path below it only (the same fine variation in
every top concept): image->image IVF nprobe 1 +0.038, text->image IVF nprobe 4 +0.136. The text
residual's part along the image model's top 10 (30) directions removed, no refit (3 splits): IVF
nprobe 4 +0.003 (-0.000), HNSW ef 10 -0.086 (-0.120). What these runs share: the model's IVF recall at
a fixed nlist gains twice the real one as the base grows from 300 to 900 rows, which a 90-row
sample does not show (bench/synth_fit.py's ``cell_growth``).

Tried with the tree's top levels evened (synth_tree): each of the structure fit's draws from a tree of its
own (6 trees rather than 3 draws of one): split 0 fitted with five seeds spread image-to-image IVF nprobe
1 less (-0.040 to +0.018 rather than -0.040 to +0.056), but over 10 splits every point was within 0.05
on 3 (one tree: 6) and image-to-image IVF nprobe 1 -0.029 on the mean; without the evening, 2 of 10.

What the remaining misses follow (10 splits; bench/synth_fit.py's per-split table): the texts' attribute
share, fitted with coupling, tracks the sample's best-match z-score (2.57 to 2.84 over the splits; the
sample's 90 images resampled move it by 0.07 to 0.095, the model's own draws at that size by 0.04 to 0.05:
real images differ in how they stand out for texts more than the model's do), and text->image HNSW ef 10
moves by about 0.08 per 0.05 of the share (split 8's model with the share at 0.15, 0.10, 0.05: +0.126,
+0.049, -0.034; IVF nprobe 4 -0.033, -0.009, +0.030). Tried against that: the z-score and kurtosis taken
on scores less each image's mean score over the texts (a pull on every text, which the model has only along
the text mean): the share's spread over splits fell (HNSW ef 10 sd 0.040 -> 0.025, split 8 +0.12 -> +0.087)
but its mean rose (+0.029 -> +0.041), 6 of 10 splits either way; the same with the sample's bootstrap spread
added to the misfit's units; with that z-score and the base's attribute share (ATTR) at 0.2, HNSW ef 10
-0.017 +- 0.028 but image->image IVF nprobe 1 +0.032 +- 0.037 (7 of 10 within), 6 of 10; at 0.3, HNSW
ef 10 +0.082, 1 of 10 (ATTR trades those two points against each other, split by split). Six draws of
the structure fit's one tree rather than three: 5 of 10. The coupling grid's weights sit on 2 or 3 of
its 247 points (the share moves in steps of 0.05, about 0.08 of HNSW ef 10): its simulated statistics
interpolated (multilinear) onto a grid 20 times finer before weighting took split 8's share from 0.150
to 0.139 (HNSW ef 10 +0.119 -> +0.106) and HNSW ef 10 over the splits from +0.029 +- 0.042 to +0.026
+- 0.037 (sd with n - 1), still 6 of 10: the grid's step is not what moves the share, the sample is.
The structure grid interpolated as well: 4 of 10 (the texts' tree left the grid's edge, sigma 0.9 and
tau 0, for tau near 2). On SIFT (10 splits, 6 of 10 as kept): the nearest-neighbour percentiles also
taken on the first half (and quarter) of the sample, so the fit sees them grow with n: 5 (4) of 10,
the splits whose fitted tau is high (3, 6, 9: tau 0.84 to 1.09, IVF nprobe 1 +0.12 to +0.14) as far
off. Kept from there: the structure fit on up to 400 rows (STRUCTURE_ROWS, 250 before): SIFT IVF nprobe 1
+0.055 +- 0.057 -> +0.039 +- 0.048 over its 10 splits (6 of 10 either way; IVF nprobe 4 and HNSW ef 10 within
0.05 on 8 rather than 6), the whole shared CLIP set's fit check (1000 texts, 900 images) worst mean 0.083, 0.093,
0.028 -> 0.026, 0.052, 0.036 with seeds 0, 1, 2; the benchmark's CLIP samples (90 images, 214 texts) are
smaller than either cap, unchanged. Its cost, fitted to 10,000 images and 1000 texts of the built-in clip-synth
(one thread): the whole fit 189 s at 250 rows, 194 s at 400, 265 s at all 1000 of FIT_ROWS.
Tried after, not kept (sd with n - 1): the local intrinsic dimension (MLE over 10 neighbours, its median) as a 4th structure
statistic: SIFT 6 of 10 (IVF nprobe 1 +0.048 +- 0.055; with 400 rows 7 of 10, +0.029 +- 0.040) but CLIP 1 of 10
(text->image IVF nprobe 4 +0.028, image->image IVF nprobe 1 +0.023 +- 0.036, many splits just over); the
pairing statistics taken both ways (images over texts as well): text->image IVF nprobe 4 -0.009 +- 0.021, every
split within, but HNSW ef 10 +0.061 +- 0.035, 5 of 10; the top 2 levels' offsets zeroed (fewer, larger
populations at the top; the fit refitted): split 0's population sd on text->image IVF nprobe 4 0.046 -> 0.022,
but image->image IVF nprobe 1 +0.064 +- 0.039 over 10 splits, 2 of 10; the top 6 levels' 64 path sums (with
their subtree scales and warps) mixed so their spectrum-weighted Gram matrix is its expectation (the level
centring included): split 0's population sd 0.046 -> 0.036, image->image IVF nprobe 1 0.018 -> 0.028; evening
the top levels' lean on the text mean (each level's projections on it replaced by normal scores): each
population's recall unchanged (its level-0 projection had ranged 0.21 to 0.91 of its expected size).
Not kept either, once measured on 10 more splits: the pairing statistics both ways with the base's attribute share at 0.2 (ATTR) gave
text->image HNSW ef 10 +0.007 +- 0.028 (9 of 10; split 8 +0.119 -> +0.023) but image->image IVF nprobe 1
+0.032 +- 0.039, 6 of 10; with the tree also fitted at a share of 0.1 (ATTR_FIT): HNSW ef 10 +0.008 +- 0.027
(10 of 10), image->image IVF nprobe 1 +0.009 +- 0.032 (9), text->image IVF nprobe 4 -0.030 +- 0.030 (7; the
misses there, splits 1, 2, 8: -0.057, -0.076, -0.057), 7 of 10: one run of 10 splits each. The shares alone
(0.2 and 0.1, the pairing statistics one way as kept): the image side the same, text->image HNSW ef 10
-0.021 +- 0.030 and IVF nprobe 4 -0.003 +- 0.035, 6 of 10 (the second direction moves HNSW ef 10 by +0.03
and IVF nprobe 4 by -0.03). On splits 10 to 19 (``--splits 20``) the both-ways pairing with the shares at 0.2 and
0.1 met the goal on 4 (as kept: 5), text->image IVF nprobe 4 -0.035 +- 0.028 over the 20 splits (within on 12; as
kept +0.005 +- 0.036, 17), HNSW ef 10 +0.004 +- 0.024 (20; as kept +0.025 +- 0.037, 16): 11 of 20 either way.
The goal's whole design on the model's own rows (bench/synth_fit.py's ``model_refit``: a split's fitted model
stands in for the real data, 90 of its images and 214 of its texts are fitted again, another seed): 3 of 10
splits meet the goal at 900 rows, text->image HNSW ef 10 spread 0.056 and image->image IVF nprobe 1 0.045 over
the splits (the fit to the real sample: 0.040 and 0.032); on SIFT, 200 rows fitted again and 2000 generated, 7
of 10. From 90 rows the fit does not recover the parameters it drew from: the image tree's sigma 0.74 -> 0.36,
0.60 -> 0.30, 0.40 -> 0.21 at splits 0, 3 and 6 (lower at 7 of 10 splits), the texts' spectrum knee 62 -> 14 and
decay 1.45 -> 0.85 at split 0 (another law, the same cumulative spectrum at 214 rows). Taken apart (scratch runs,
10 splits, sd with n - 1): fitted again with the first draw's own seed (that population's draws, only the
parameters read anew from the 90 + 214 rows), 4 of 10 (image->image IVF nprobe 1 -0.033 +- 0.043, text->image
HNSW ef 10 +0.030 +- 0.039), against 9 for the model's second draw; with another seed and 900 images + 1000
texts of the model's rows to fit (5 splits), 2 of 5 (split 4 text->image IVF nprobe 4 -0.119); sets of one fit
with other seeds meet it against each other on 6 pairs of 10. So what is left is the fit's noise at a tenth
of 900 rows and one seed's population, each about as costly, whatever the data: a change aimed at either is
measured best on the model's own rows, where the truth is known. There the fit is biased as well as noisy:
refitted with the first draw's own seed, image->image IVF nprobe 1 comes out -0.033 (the image tree's sigma
read low) and text->image HNSW ef 10 +0.030; with 8 simulated draws a grid point rather than 3 (structure) and
4 (pairing), -0.053 +- 0.047 and +0.037 +- 0.042, 0 of 10: less simulation noise in the likelihood makes it
worse, so the bias is the estimator's (the grid's likelihood-weighted mean), not the simulations' noise. Over 20 splits (``--splits 20``): 11 of 20
against the real base, the refit 8, the model's second draw 19.
Why: 90 images hardly tell the tree's sigma and tau. On split 1's model's own rows (truth alpha 0.063, sigma
0.41, tau 0.89), five samples of 90 gave the structure grid's likelihood summed over sigma 0.16 to 0.32 at
each of 0, 0.15 and 0.3 and 0.01 to 0.11 at 0.75 (a near-flat marginal, sigma read 0.20 to 0.34: towards the
grid's middle, which is the bias above), over tau 0.26 to 0.44 at 0 and at most 0.01 at 2 and above.
Over the grid points holding that likelihood, image->image IVF nprobe 1 at 900 rows ranged 0.40 to 0.61 (sd 0.058, 2 builds a point;
the truth's 0.552). No single statistic of 90 rows tells those points apart much better: over them, the
share of a row's 5 nearest neighbours in its own cell of a 4-means follows that recall closest (correlation
+0.92), then the nearest-neighbour distance's growth to the 5th ((1 - cos5) / (1 - cos1), +0.86), the
nearest neighbour's cell share (+0.87) and the local intrinsic dimension (-0.81), but each varies over
the points by 0.7 to 1.0 of its own spread between samples of 90 (the pairwise cosines' sd varies 2.7
times its spread but does not follow the recall, +0.03): a statistic more adds about one sd of what it
tells. The misfit with the statistics' pooled covariance (their correlation: the three percentiles move
together) instead of their sds alone: 5 of 10 on the real splits (6 as kept), and refitted with the
truth's seed no better (the first 6 splits all missed; as kept 5 of them). bench/synth_fit.py's
``posterior_spread`` measures it per split: the grids' points drawn by the sample's likelihood, each generated at 900 rows.
Two draws of one fitted population meet the goal against each other on 9 of 10 splits at 900 rows
(bench/synth_fit.py's ``model_draws``), sets of one fit with other seeds on 6 pairs of 10: part of
the spread is the seed's population, and within it the tree's node offsets (split 0, five populations:
text->image IVF nprobe 4 sd 0.046 with every table of the tree drawn anew, 0.036 with the offsets alone,
about 0 with the warps or the subtree scales alone; 0.029 with levels 0 to 5's offsets alone, 0.027
with levels 6 to 9's, 0.011 with the hashed ones'). The top 6 levels' offsets mixed so their
spectrum-weighted Gram matrix is even (equal separations along the leading directions): 0.046 ->
0.036 (split 5: 0.019 -> 0.018), each population's recall nearly where it was: what differs between
populations is not how the top levels' nodes sit against each other. Averaged out altogether
(bench/synth_fit.py's ``--populations 7``: the mean of each split's set and 7 more of its fit drawn with
seeds of their own, against the real base), the seed's population leaves the splits meeting the goal at 6
of 10, the spread over the splits of text->image IVF nprobe 4 0.033 -> 0.024 but of HNSW ef 10 0.040 ->
0.042 and image->image IVF nprobe 1 0.032 -> 0.030: the misses at those two are the fit's (over 20 splits the
mean over populations meets the goal on 8, the set itself on 11: the fit reads its parameters through the
draws of the set's own population, which other populations do not share). Within split 0's
fit (after the evening; scratch, 6 seeds for each part) the image tree's tables hold the seed's spread there
(HNSW ef 10 sd 0.033, image->image IVF nprobe 1 0.034; their radial draws the most, 0.020 and 0.018), the
basis 0.018 on text->image IVF nprobe 4, the texts' tables and the attribute pool under 0.01.

Kept after all this: the base's residual length per top subtree with its tilt (``radial``, ``tilt``)
and shared attributes keyed by a deep node (``attr``), which brought every point's mean over 10
splits within 0.025 (bench/synth_fit.py). Tried on the way (10 splits unless said): the residual's
length per row (2 splits): a dense core of rows from every concept, one cell of 89 rows, text->image
IVF nprobe 4 +0.19; the length per subtree without the tilt: +0.21; its log drawn with a per-row
exponential part matched to the skew of the cosine to the mean (real -1.06; 2 splits): text->image
IVF nprobe 4 +0.14; with the length alone (no attributes) image->image IVF nprobe 1 +0.020 but
text->image IVF nprobe 4 +0.073 +- 0.089 and HNSW ef 10 -0.064; attributes picked per row at random
rather than by a deep node: the images' 90th-percentile nearest-neighbour cosine 0.03 to 0.06 short
at the sample's size; 256 or 32 attributes instead of 64 (4 splits): text->image HNSW ef 10 -0.15 and
+0.05; the texts' share at the grid's best point rather than its weighted mean: a wider spread;
the residual's length drawn on the top 6 levels rather than 10: every mean within 0.034 but
text->image IVF nprobe 4 within 0.05 on 6 splits of 10 (10 levels: 8), and five more sets of split
0's fit spread it by 0.055 (10 levels: 0.046).

Nothing else is stored from the sample: no vector, no principal direction.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from annbench.data.synth_fitted import FittedModality, FittedModel
from annbench.data.synth_geometry import MIN_D, OTHER, power_spectrum
from annbench.data.synth_moments import fit_spectrum, pairing_stats, structure_stats
from annbench.data.synth_tree import TreeGenerator
from annbench.data.validate import normalize_rows
from annbench.errors import UserError

SAMPLE = 10_000       # rows per modality fitted to by default
MIN_SAMPLE = 20       # rows per modality below which nothing can be fitted
FIT_ROWS = 1000       # rows per modality the spectrum and pairing fits simulate
STRUCTURE_ROWS = 400  # ... and the structure fit, whose grid is large (378 points x 3 draws; see the module)
CAL_ROWS = 1000       # rows drawn to calibrate |mean| and the hub
ALPHAS = np.round(np.arange(0.0, 0.161, 0.02), 3)   # the grid of the structure fit
SIGMAS = np.round(np.arange(0.0, 0.901, 0.15), 3)
TAUS = np.round(np.arange(0.0, 2.51, 0.5), 3)
COUPLINGS = np.round(np.arange(0.0, 0.91, 0.05), 2)
ATTR_SHARES = np.round(np.arange(0.0, 0.61, 0.05), 2)  # the grid of the other modality's attribute share
ATTR_FIT = 0.15  # the base's attribute share while its tree is fitted ...
ATTR = 0.25      # ... and after (the sample cannot tell it: fixed, see the tried list)
RADIAL_START = 0.2
KNOWN = ("image", "text")  # the modalities a model has (a base of unknown modality is fitted as images)


def _some(total: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``size`` of the ids ``0..total-1``, drawn at random, in order."""
    return np.arange(total) if total <= size else np.sort(rng.choice(total, size, replace=False))


def read_sample(path: str | os.PathLike, sample: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    """Up to ``sample`` random rows of the base and of the other modality's query sets, unit-norm.

    Returns ``({modality: rows}, source)``, the base's modality first. A euclidean
    dataset is normalised (the model is of cosine geometry, as CLIP is).
    """
    from annbench.data.hdf5io import read_dataset, sample_fingerprint

    if sample < MIN_SAMPLE:
        raise UserError(f"--sample must be >= {MIN_SAMPLE}, got {sample}")
    path = Path(path)
    ds = read_dataset(path, lazy_base=True)
    try:
        if ds.point_type == "bit":
            raise UserError(f"{path}: binary codes; clip-synth --like needs float vectors")
        rng = np.random.default_rng([seed, 5])
        base = ds.base_modality if ds.base_modality in KNOWN else "image"
        rows = {base: ds.xb[_some(ds.nb, sample, rng)]}
        counts = {base: ds.nb}
        other = [q.queries for q in ds.query_sets.values() if q.modality in KNOWN and q.modality != base]
        if other:
            xq = np.concatenate(other)
            rows[OTHER[base]], counts[OTHER[base]] = xq[_some(len(xq), sample, rng)], len(xq)
    finally:
        ds.xb.keep.close()
    for name, x in rows.items():
        if len(x) < MIN_SAMPLE:
            raise UserError(f"{path}: {len(x)} {name} rows; clip-synth --like needs at least {MIN_SAMPLE}")
    source = {"name": path.stem, "fingerprint": sample_fingerprint(path), "rows": counts, "seed": seed,
              "metric": ds.metric}
    return {name: normalize_rows(x, f"{path} {name} rows") for name, x in rows.items()}, source


def _start(x: np.ndarray, small: np.ndarray, seed: int) -> FittedModality:
    """The mean read straight off the sample ``x``, a first spectrum from its subsample ``small``
    as if the rows were Gaussian, and neutral values for the rest until they are fitted."""
    mean = x.mean(axis=0, dtype=np.float64)
    knee, decay, cutoff = fit_spectrum(small, _gaussian_draws(len(small), x.shape[1], seed))
    return FittedModality(mean / max(float(np.linalg.norm(mean)), 1e-30), _odds(_target_norm(x)), knee, decay, cutoff,
                          hub=1.0, alpha=0.08, sigma=0.2, sample=len(x))


def _slope(x: np.ndarray, own: np.ndarray, away: np.ndarray) -> float:
    """How the rows' cosine to ``away`` moves with their cosine to their own mean ``own``."""
    a = x @ own
    return float(np.mean((a - a.mean()) * (x @ away)) / max(float(a.var()), 1e-12))


def _gaussian_draws(n: int, d: int, seed: int, reps: int = 2):
    """Gaussian rows with a power-law spectrum: a first spectrum fit, before the model's own rows can be drawn."""
    noise = [np.random.default_rng([seed, 13, r]).standard_normal((n, d)) for r in range(reps)]
    return lambda knee, decay, cutoff: [z * np.sqrt(power_spectrum(d, knee, decay, cutoff)) for z in noise]


def _model_draws(gen: TreeGenerator, name: str, n: int, reps: int = 2):
    """The model's own rows at the sample's size, with some spectrum: its realised spectrum (the
    concept tree and the normalising bend the one it is given) is what must match the sample's."""
    def draw(knee: float, decay: float, cutoff: float) -> list[np.ndarray]:
        gen.update(name, knee=knee, decay=decay, cutoff=cutoff)
        return [gen.rows(name, n, np.random.default_rng([gen.seed, 51, r])) for r in range(reps)]
    return draw


def _target_norm(x: np.ndarray) -> float:
    """|mean| of the population: a sample's mean of unit rows is longer by about (1 - |m|^2) / n."""
    n, m2 = len(x), float(np.sum(x.mean(axis=0, dtype=np.float64) ** 2))
    return float(np.sqrt(max(0.0, (n * m2 - 1.0) / (n - 1))))


def _odds(m: float) -> float:
    """The mean's length against a unit residual that gives unit rows a mean of length ``m``."""
    m = min(max(m, 1e-6), 1 - 1e-6)
    return m / np.sqrt(1.0 - m * m)


def calibrate(gen: TreeGenerator, name: str, x: np.ndarray, rounds: int = 3) -> None:
    """Set ``scale`` and ``hub`` so drawn rows have the sample's |mean| and spread along the other mean;
    for the base, also ``radial`` and ``tilt``: the spread of the rows' cosine to their own mean, and
    the slope of their cosine to the other mean's orthogonal part on it."""
    other = gen.model.other_than(name)
    u = gen.model.modalities[other].mean if other else None
    own = gen.model.modalities[name].mean
    target_norm = _target_norm(x)
    target_sd = float(np.std(x @ u)) if other else 0.0
    radial = name == gen.model.base
    if radial:
        rounds = max(rounds, 8)
        target_radial = float(np.std(x @ own))
        away = gen.away(name) if other else None
        target_slope = _slope(x, own, away) if other else 0.0
    for _ in range(rounds):
        m = gen.model.modalities[name]
        g = gen.rows(name, CAL_ROWS, np.random.default_rng([gen.seed, 21]))
        scale = m.scale * _odds(target_norm) / _odds(float(np.linalg.norm(g.mean(axis=0, dtype=np.float64))))
        hub = float(np.clip(m.hub * target_sd / max(float(np.std(g @ u)), 1e-9), 0.05, 20.0)) if other else m.hub
        more = {}
        if radial:
            more["radial"] = float(np.clip(m.radial * target_radial / max(float(np.std(g @ own)), 1e-9), 0.01, 2.0))
            if other:
                more["tilt"] = float(np.clip(m.tilt + 0.5 * (_slope(g, own, away) - target_slope), -2.0, 2.0))
        gen.update(name, scale=float(scale), hub=hub, **more)


def _misfit(sims: dict, real: np.ndarray) -> np.ndarray:
    """Per grid point, the chi-square of its simulated statistics' mean against the sample's, each
    statistic in units of its spread over the simulations."""
    sd = np.mean([v.std(axis=0) for v in sims.values()], axis=0) + 1e-3
    return np.array([np.sum(((v.mean(axis=0) - real) / sd) ** 2) for v in sims.values()])


def _sims(gen: TreeGenerator, name: str, n: int, reps: int, **params) -> np.ndarray:
    gen.update(name, **params)
    return np.array([structure_stats(gen.rows(name, n, np.random.default_rng([gen.seed, 31, r])))
                     for r in range(reps)])


def _likelihood(sims: dict, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid's points (``sims``' keys, one row each) and, per point, the likelihood of the sample's
    statistics ``real`` against its simulations (relative to the best point's, not normalised)."""
    chi = _misfit(sims, real)
    return np.array(list(sims)), np.exp(-0.5 * (chi - chi.min()))


def _weighted_mean(points: np.ndarray, w: np.ndarray) -> list[float]:
    return [float(v) for v in (w[:, None] * points).sum(axis=0) / w.sum()]


def _fitting(gen: TreeGenerator, name: str) -> None:
    """The base's attribute share while its tree is fitted: ATTR_FIT (ATTR after; see the module)."""
    if name == gen.model.base:
        gen.update(name, attr=ATTR_FIT)


def tree_posterior(gen: TreeGenerator, name: str, small: np.ndarray, reps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The structure grid's ``(alpha, sigma, tau)`` points and the likelihood at each of the statistics of
    at most STRUCTURE_ROWS rows of ``small``, simulated from ``gen``'s model at that size, the base's attribute
    share at ATTR_FIT, as the fit has it then (``gen`` is left changed)."""
    _fitting(gen, name)
    x = small[_some(len(small), STRUCTURE_ROWS, np.random.default_rng([gen.seed, 19]))]
    grid = {(float(a), float(s), float(t)): _sims(gen, name, len(x), reps, alpha=a, sigma=s, tau=t)
            for a in ALPHAS for s in SIGMAS for t in TAUS}
    return _likelihood(grid, structure_stats(x))


def fit_modality(gen: TreeGenerator, name: str, x: np.ndarray, small: np.ndarray,
                 structure: tuple[float, float, float] | None = None) -> None:
    """One modality's own parameters, from its sample ``x`` and the subsample ``small`` the simulations use.
    Its tree's ``alpha``, ``sigma`` and ``tau`` (or ``structure``, given) by simulated moments on a grid: the
    mean of the grid weighted by the likelihood of the sample's statistics (the fit lies in a valley, alpha
    against sigma, and a weighted mean stays put where the single best point of a noisy valley would
    wander); then its spectrum and scales; the base's at ATTR_FIT, then again at ATTR (see the module)."""
    _fitting(gen, name)
    calibrate(gen, name, x)
    alpha, sigma, tau = _weighted_mean(*tree_posterior(gen, name, small)) if structure is None else structure
    gen.update(name, alpha=alpha, sigma=sigma, tau=tau)
    settle(gen, name, x, small)
    if name == gen.model.base:
        gen.update(name, attr=ATTR)
        settle(gen, name, x, small)


def settle(gen: TreeGenerator, name: str, x: np.ndarray, small: np.ndarray) -> None:
    """After a change of one modality's tree: its spectrum fitted again (to ``small``) as its own rows now
    show it, then its scales calibrated again (to ``x``)."""
    _refit_spectrum(gen, name, small)
    calibrate(gen, name, x)


def _refit_spectrum(gen: TreeGenerator, name: str, small: np.ndarray) -> None:
    """The spectrum again, from the current one, as the model's own rows show it."""
    m = gen.model.modalities[name]
    knee, decay, cutoff = fit_spectrum(small, _model_draws(gen, name, len(small)), start=(m.knee, m.decay, m.cutoff))
    gen.update(name, knee=knee, decay=decay, cutoff=cutoff)


def coupling_posterior(gen: TreeGenerator, base_rows: np.ndarray, other_rows: np.ndarray, reps: int = 4
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The pairing grid's ``(coupling, attr)`` points (the other modality's) and the likelihood of the
    sample's pairing statistics at each, simulated from ``gen``'s model (``gen`` is left changed)."""
    base, other = gen.model.base, gen.model.other
    real = pairing_stats(base_rows, other_rows)
    xb = [gen.rows(base, len(base_rows), np.random.default_rng([gen.seed, 41, r])) for r in range(reps)]

    def sims(c: float, a: float) -> np.ndarray:
        gen.update(other, coupling=float(c), attr=float(a))
        return np.array([pairing_stats(b, gen.rows(other, len(other_rows), np.random.default_rng([gen.seed, 43, r])))
                         for r, b in enumerate(xb)])

    return _likelihood({(float(c), float(a)): sims(c, a) for c in COUPLINGS for a in ATTR_SHARES}, real)


def fit_coupling(gen: TreeGenerator, base_rows: np.ndarray, other_rows: np.ndarray, x: np.ndarray,
                 pairing: tuple[float, float] | None = None) -> None:
    """The other modality's ``coupling`` and ``attr`` (or ``pairing``, given): how close its best matches in the
    base are and how far its best match stands out among its scores, as in the sample (the grid's
    likelihood-weighted mean); then its scales, calibrated again to its sample ``x``."""
    coupling, attr = _weighted_mean(*coupling_posterior(gen, base_rows, other_rows)) if pairing is None else pairing
    gen.update(gen.model.other, coupling=coupling, attr=attr)
    calibrate(gen, gen.model.other, x)


def fit_model(samples: dict[str, np.ndarray], seed: int = 0, source: dict | None = None) -> FittedModel:
    """Fit every parameter to ``samples`` ({modality: unit rows}, the base's first, at most two)."""
    names = list(samples)
    if not 1 <= len(names) <= 2:
        raise UserError(f"clip-synth --like fits one or two modalities, got {len(names)}")
    d = samples[names[0]].shape[1]
    if any(x.shape[1] != d for x in samples.values()):
        raise UserError("the base and the queries of the --like dataset differ in dimension")
    if d < MIN_D:
        raise UserError(f"clip-synth --like needs d >= {MIN_D}, got d={d}")
    rng = np.random.default_rng([seed, 17])
    small = {name: x[_some(len(x), FIT_ROWS, rng)] for name, x in samples.items()}
    model = FittedModel(d, names[0], {name: _start(samples[name], small[name], seed) for name in names},
                        dict(source or {}))
    gen = TreeGenerator(model, seed)
    gen.update(names[0], attr=ATTR_FIT, radial=RADIAL_START)  # calibrate scales radial: it starts above 0
    for name in names:
        fit_modality(gen, name, samples[name], small[name])
    if len(names) == 2:
        fit_coupling(gen, small[names[0]], small[names[1]], samples[names[1]])
    source = dict(gen.model.source) | {"sample": {name: len(x) for name, x in samples.items()}}
    return FittedModel(d, names[0], dict(gen.model.modalities), source)

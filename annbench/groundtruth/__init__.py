"""Ground truth: the layer above the datasets, which takes their vectors and computes exact top-K.

``exact`` (float: angular, euclidean) and ``binary`` (Hamming, Jaccard) compute
truth from arrays or open files; the ``build_*`` modules are the pipelines that
produce a finished dataset with its truth (from .npy arrays, clip-synth,
binarized codes), writing through :mod:`annbench.data`. Nothing in
``annbench.data`` imports this package (``tests/test_layering.py`` checks).
"""

from annbench.groundtruth.binary import exact_binary_knn
from annbench.groundtruth.exact import DEFAULT_K, exact_knn

__all__ = ["DEFAULT_K", "exact_binary_knn", "exact_knn"]

"""annbench: which vector index for CLIP search, with which parameters, at what cost."""

__version__ = "0.1.0"


def load_results(path):
    """Every stored result record under ``path`` as a pandas DataFrame (one row a point)."""
    from annbench.results.frame import load_results as _load

    return _load(path)

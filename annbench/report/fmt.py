"""How numbers read on the page: a few significant digits, units spelled out.

One place, so the tooltip, the tables and the headline never disagree.
"""

from __future__ import annotations

import math

MB = 1 << 20


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def qps(value) -> str:
    if _missing(value):
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def recall(value) -> str:
    return "–" if _missing(value) else f"{value:.4f}"


def ms(value) -> str:
    if _missing(value):
        return "–"
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def seconds(value) -> str:
    if _missing(value):
        return "–"
    return f"{value:.3g} s" if value < 1000 else f"{value:,.0f} s"


def megabytes(n_bytes) -> str:
    if _missing(n_bytes):
        return "–"
    mb = n_bytes / MB
    return f"{mb:.3g} MB" if mb < 1000 else f"{mb:,.0f} MB"


def number(value) -> str:
    """Any other measurement (ndis, thresholds), or a plain string passed through."""
    if _missing(value):
        return "–"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def batch_words(nq: int) -> str:
    return "one query at a time" if nq == 1 else f"batches of {nq:,} queries"


def sig(value, digits: int = 6):
    """Round for stored chart data: stable golden files, smaller pages."""
    if _missing(value):
        return None
    return float(f"{float(value):.{digits}g}")

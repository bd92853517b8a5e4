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


def qps_range(lo, hi) -> str:
    """``12,100–12,600``: the rounds' range of a QPS; "" with one round."""
    if _missing(lo) or _missing(hi) or lo == hi:
        return ""
    return f"{qps(lo)}–{qps(hi)}"


def threads(cpu_util) -> str:
    """Cores the search kept busy, as process CPU seconds per wall second: ``2.0``."""
    return "–" if _missing(cpu_util) else f"{cpu_util:.1f}"


def per_vector(n_bytes) -> str:
    if _missing(n_bytes):
        return "–"
    return f"{n_bytes:,.0f} B" if n_bytes >= 10 else f"{n_bytes:.3g} B"


def percentile(value, batches, p: int, needed: int) -> str:
    """A batch-latency percentile, or why it is not given: ``– (<100 batches)``."""
    if not _missing(value):
        return ms(value)
    if _missing(batches):
        return "–"
    return f"– (<{needed} batches)" if batches < needed else "–"

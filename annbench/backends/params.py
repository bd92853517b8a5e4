"""The parameter checks every backend, faiss or not, makes the same way: defaults
filled in and unknown names refused, integers that are integers, a device the
backend has."""

from __future__ import annotations

import numpy as np

from annbench.errors import UserError


def with_defaults(cls: type, build: dict, search: dict) -> tuple[dict, dict]:
    """Fill in defaults and refuse unknown names: a typo must not silently run the default."""
    for given, known, kind in ((build, cls.build_params, "build"), (search, cls.search_params, "search")):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise UserError(f"{cls.name}: unknown {kind} parameter(s) {', '.join(unknown)}"
                            f" (known: {', '.join(known) or 'none'})")
    return {**cls.build_params, **build}, {**cls.search_params, **search}


def require_int(cls: type, key: str, value: object, low: int = 1) -> int:
    """Parameters come from YAML or the command line: refuse floats, strings and bools."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UserError(f"{cls.name}: {key} must be an integer >= {low}, got {value!r}")
    return int(value)


def require_ints(cls: type, build: dict, search: dict) -> None:
    """For indexes whose every parameter is a positive integer (graph sizes, beam widths)."""
    for key, value in (*build.items(), *search.items()):
        require_int(cls, key, value)


def check_device(cls: type, device: str) -> None:
    if device not in cls.devices:
        raise UserError(f"index {cls.name!r} runs on {', '.join(cls.devices)}, not {device!r}")


def check_setup(cls: type, device: str, metric: str, threads: int) -> None:
    """What a constructor refuses first: a device or metric the backend lacks, fewer than one thread."""
    check_device(cls, device)
    if metric not in cls.metrics:
        raise UserError(f"{cls.name}: unknown metric {metric!r} (use {' or '.join(cls.metrics)})")
    if threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}")

"""Sweep settings from a YAML file or the command line, into a :class:`Plan`."""

from __future__ import annotations

from pathlib import Path

from annbench.errors import UserError

DEFAULTS = {"k": 10, "nq": [1, 10, 100, 1000], "device": ["cpu"], "threads": 0, "timeout": 1800.0,
            "min_time": 0.5, "repeats": 3, "rerank": [0], "memory_limit_gb": 0.0, "save_neighbors": False,
            "blas_threshold": None, "clients": None, "filter_selectivity": None, "filter": None,
            "gpus": None, "gpu_mode": None,  # None: one GPU (--gpus 1), spread as replicas past one
            "min_batches": 10}  # config file only: timed batches of a point at the least, shared by its rounds


def parse_value(text: str):
    text = text.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_list(text: str, string_param: bool = False, names: bool = False) -> list:
    """``"1,8,64"`` -> [1, 8, 64]; string parameters (a faiss factory) split on ';' only; ``names`` (query
    sets) split on ',' and stay strings."""
    sep = ";" if string_param else ","
    parts = [p.strip() for p in text.split(sep)]
    if not any(parts):
        raise UserError(f"empty value list: {text!r}")
    if not all(parts):
        raise UserError(f"empty value in the list {text!r} (values are separated by '{sep}')")
    return parts if string_param or names else [parse_value(p) for p in parts]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def load_config(path: str) -> dict:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        cfg = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise UserError(f"unreadable config {path}: {first}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("indexes"), list) or not cfg["indexes"]:
        raise UserError(f"config {path}: expected a mapping with a non-empty 'indexes' list")
    for i, entry in enumerate(cfg["indexes"]):
        if not isinstance(entry, dict) or "index" not in entry:
            raise UserError(f"config {path}: indexes[{i}] needs an 'index' name")
        for part in ("build", "search"):
            if not isinstance(entry.get(part, {}), dict):
                raise UserError(f"config {path}: indexes[{i}].{part} must be a mapping of parameter: values")
        if unknown := set(entry) - {"index", "build", "search", "rerank"}:
            raise UserError(f"config {path}: indexes[{i}] has unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                            "(known: index, build, search, rerank)")
    unknown = set(cfg) - set(DEFAULTS) - {"dataset", "queries", "indexes", "results"}
    if unknown:
        raise UserError(f"config {path}: unknown setting(s): {', '.join(sorted(unknown))}")
    return cfg

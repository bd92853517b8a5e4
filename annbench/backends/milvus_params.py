"""Milvus index types and their parameters: which named parameter belongs to which type, and the
``index_params`` / ``search_params`` dicts Milvus takes.

A named parameter left at None is not sent: the engine runs its own default, and the record says
None. A type annbench does not name (DISKANN, GPU_CAGRA, ...) goes to the server as it is, its
parameters as ``index_extra`` / ``search_extra`` strings ("search_list=100,beam_width=4").
"""

from __future__ import annotations

import json
import re

from annbench.backends.params import require_int
from annbench.errors import UserError

METRICS = {"angular": "IP", "euclidean": "L2"}  # angular data arrives unit-norm: IP ranks as cosine
# index type -> (its build parameters, its search parameters), as Milvus names them
TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "FLAT": ((), ()),
    "IVF_FLAT": (("nlist",), ("nprobe",)),
    "IVF_SQ8": (("nlist",), ("nprobe",)),
    "IVF_PQ": (("nlist", "m", "nbits"), ("nprobe",)),
    "HNSW": (("M", "efConstruction"), ("ef",)),
    "HNSW_SQ": (("M", "efConstruction"), ("ef",)),
}
# the float-vector index types of Milvus 2.5/2.6 servers; on a server any other name goes through as well
KNOWN = (*TYPES, "AUTOINDEX", "IVF_RABITQ", "HNSW_PQ", "HNSW_PRQ", "SCANN", "DISKANN",
         "GPU_IVF_FLAT", "GPU_IVF_PQ", "GPU_CAGRA", "GPU_BRUTE_FORCE")
NAMED_BUILD = ("nlist", "m", "nbits", "M", "efConstruction")
NAMED_SEARCH = ("nprobe", "ef")
_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def check_type(index_type: object, lite: bool) -> str:
    """A Milvus index type by its name; Milvus Lite knows no types beyond Milvus's own."""
    if not isinstance(index_type, str) or not _TYPE_NAME.fullmatch(index_type) or (lite and index_type not in KNOWN):
        raise UserError(f"milvus: unknown index_type {index_type!r} (Milvus offers {', '.join(KNOWN)}; "
                        "with uri, any other type the server offers, by its name in capitals)")
    return index_type


def check(build: dict, search: dict, nb: int, d: int) -> None:
    """The named parameters of the chosen type, and no others; integers where Milvus takes integers."""
    index_type = check_type(build["index_type"], lite=build["uri"] == "")
    own_build, own_search = TYPES.get(index_type, ((), ()))
    for kind, names, own, given in (("build", NAMED_BUILD, own_build, build), ("search", NAMED_SEARCH, own_search, search)):
        for name in names:
            if given[name] is None:
                continue
            if name not in own:
                takes = ", ".join(own) or "none of annbench's named ones"
                raise UserError(f"milvus: {name} is not a {kind} parameter of {index_type} (it takes {takes}; "
                                f"others go in {kind.replace('build', 'index')}_extra)")
            require_int(_Named, name, given[name])
    extra(build["index_extra"], "index_extra"), extra(search["search_extra"], "search_extra")
    _check_ivf(build, search, nb, d)


def _check_ivf(build: dict, search: dict, nb: int, d: int) -> None:
    nlist, nprobe, m = build["nlist"], search["nprobe"], build["m"]
    if nlist is not None and nlist > nb:
        raise UserError(f"milvus: nlist={nlist} exceeds the base size {nb} (k-means needs a vector per cell)")
    if nlist is not None and nprobe is not None and nprobe > nlist:
        raise UserError(f"milvus: nprobe={nprobe} exceeds nlist={nlist}")
    if m is not None and d % m:
        raise UserError(f"milvus: IVF_PQ needs the dimension {d} to be a multiple of m={m}")


def extra(text: object, what: str) -> dict:
    """``"search_list=100,beam_width=4"`` -> {"search_list": 100, "beam_width": 4}."""
    if not isinstance(text, str):
        raise UserError(f"milvus: {what} must be a string of name=value pairs, got {text!r}")
    pairs = [p.strip() for p in text.split(",") if p.strip()]
    if bad := [p for p in pairs if not re.fullmatch(r"[A-Za-z_]\w*=[^=]+", p)]:
        raise UserError(f"milvus: {what} takes name=value pairs separated by commas, not {bad[0]!r}")
    return {name.strip(): _number(value.strip()) for name, value in (p.split("=", 1) for p in pairs)}


def _number(text: str) -> object:
    """``100`` -> 100, ``0.5`` -> 0.5, ``true`` -> True; anything else stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def index_params(build: dict) -> dict:
    """What create_index gets beside the type and metric: the named parameters given, then the extras."""
    return {**{n: build[n] for n in NAMED_BUILD if build[n] is not None}, **extra(build["index_extra"], "index_extra")}


def search_params(search: dict) -> dict:
    return {**{n: search[n] for n in NAMED_SEARCH if search[n] is not None}, **extra(search["search_extra"], "search_extra")}


class _Named:
    """What :func:`require_int` names in its message."""

    name = "milvus"

"""Row filters: which base rows a filtered search may return.

A record key's ``filter`` is a dict ``{"attribute", "op", "value"}`` (integer
value), plus ``"selectivity"`` and ``"seed"`` for a seeded filter. Two kinds:

- seeded (``--filter-selectivity S``): attribute ``annbench_tag`` is the rank of
  each row in ``np.random.default_rng(seed).permutation(nb)``, and
  ``annbench_tag < round(S * nb)`` passes a uniform random ``S`` of the rows;
- expression (``--filter "NAME OP VALUE"``): an integer column the dataset
  stores (``annbench/attributes/NAME``, :mod:`annbench.data.attributes`).

:func:`row_filter` is the one place a key filter becomes the rows it allows; the
ground truth, the backends and the runner's post-filter all read its mask.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass, field

import numpy as np

from annbench.errors import UserError

TAG = "annbench_tag"  # the seeded attribute; no dataset column is needed for it
OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(-?\d+)\s*$")


@dataclass
class RowFilter:
    """A key filter resolved against one dataset: the attribute column and the rows it passes."""

    attribute: str
    op: str
    value: int
    values: np.ndarray  # the attribute of every base row (int64, nb)
    mask: np.ndarray = field(init=False, repr=False)  # True where a row passes

    def __post_init__(self) -> None:
        self.mask = np.asarray(OPS[self.op](self.values, self.value), dtype=bool)

    @property
    def expression(self) -> str:
        """``annbench_tag < 300``: the filter as a database's boolean expression reads it."""
        return f"{self.attribute} {self.op} {self.value}"

    @property
    def passing(self) -> int:
        return int(self.mask.sum())

    @property
    def selectivity(self) -> float:
        """The fraction of the base that passes (measured, for seeded and expression filters alike)."""
        return self.passing / max(1, self.mask.size)


def seeded(selectivity, nb: int, seed: int = 0) -> dict:
    """The key filter passing ``round(selectivity * nb)`` rows (at least one) drawn by ``seed``."""
    if isinstance(selectivity, bool) or not isinstance(selectivity, (int, float)) or not 0 < selectivity <= 1:
        raise UserError(f"filter selectivity must be a number in (0, 1], got {selectivity!r}")
    return {"attribute": TAG, "op": "<", "value": max(1, round(selectivity * nb)),
            "selectivity": float(selectivity), "seed": int(seed)}


def parse_expression(text: str) -> dict:
    """``"category == 3"`` -> the key filter; anything else is a one-line error."""
    found = _EXPRESSION.match(str(text))
    if not found:
        raise UserError(f"--filter: cannot read {text!r} (give NAME OP VALUE with OP one of "
                        f"{', '.join(OPS)} and an integer VALUE, e.g. \"category == 3\")")
    name, op, value = found.groups()
    return {"attribute": name, "op": op, "value": int(value)}


def tag_column(nb: int, seed: int = 0) -> np.ndarray:
    """``annbench_tag`` of every row: its rank in a seeded permutation, so ``tag < N`` is N random rows."""
    return np.random.default_rng(seed).permutation(nb).astype(np.int64)


def row_filter(flt: dict, attributes: dict[str, np.ndarray], nb: int) -> RowFilter:
    """Resolve a key filter against a dataset's attribute columns; bad filters are one-line errors."""
    if not isinstance(flt, dict) or not {"attribute", "op", "value"} <= set(flt):
        raise UserError(f"a filter is {{attribute, op, value}}, got {flt!r}")
    name, op, value = flt["attribute"], flt["op"], flt["value"]
    if op not in OPS:
        raise UserError(f"filter {name} {op} {value}: unknown operator {op!r} (use {', '.join(OPS)})")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UserError(f"filter {name} {op} {value!r}: the value must be an integer")
    if name in attributes:
        values = np.asarray(attributes[name], dtype=np.int64)
    elif name == TAG:
        values = tag_column(nb, int(flt.get("seed", 0)))
    else:
        known = ", ".join([TAG, *attributes])
        raise UserError(f"filter {name} {op} {value}: the dataset has no attribute {name!r} (it has: {known})")
    if values.shape != (nb,):
        raise UserError(f"attribute {name!r} holds {values.shape[0]} values for {nb} base rows")
    rf = RowFilter(name, op, int(value), values)
    if rf.passing == 0:
        raise UserError(f"filter {rf.expression} passes no base row: nothing to search")
    return rf


def filter_text(flt: dict) -> str:
    """The key filter as canonical JSON: what a cache of its ground truth is keyed by."""
    return json.dumps(flt, sort_keys=True, separators=(",", ":"))

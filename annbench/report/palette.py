"""One colour per index, the same in every chart, table and explorer column.

Colours are assigned from the sorted list of every index in the report, so an
index keeps its colour whichever subset of indexes a chart shows.
"""

from __future__ import annotations

from typing import Iterable

# Hand-picked, colour-blind-friendly-ish and distinct on white (Tableau 10 order, tuned).
BASE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#6b6ecf",
)
NEUTRAL = "#8a8f98"


def index_colors(names: Iterable[str]) -> dict[str, str]:
    """Map each index name to its colour (cycling past ten indexes)."""
    return {name: BASE[i % len(BASE)] for i, name in enumerate(sorted(set(names)))}


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def mix(hex_color: str, other: str, t: float) -> str:
    """``hex_color`` moved a fraction ``t`` towards ``other``."""
    a, b = _rgb(hex_color), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def shades(hex_color: str, n: int) -> list[str]:
    """``n`` shades of one hue, light to dark: settings of one index, cheapest first."""
    if n <= 1:
        return [hex_color]
    light, dark = min(0.55, 0.18 * (n - 1)), min(0.4, 0.14 * (n - 1))  # few lines: subtler steps
    out = []
    for i in range(n):
        t = -light + (light + dark) * i / (n - 1)  # negative: towards white, positive: towards black
        out.append(mix(hex_color, "#ffffff", -t) if t < 0 else mix(hex_color, "#000000", t))
    return out

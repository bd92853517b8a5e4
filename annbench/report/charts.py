"""Chart specs drawn to PNG or SVG files with matplotlib, for slides, issues and offline reading.

Uses ``Figure`` directly (no pyplot): no global state, no display backend.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D"}
FORMATS = ("png", "svg")
INK, GRID = "#2b2f36", "#e6e8ec"
LEFT, RIGHT = 0.12, 0.97  # the axes' margins, as shares of the figure's width
SUBTITLE_PT = 7.5     # the subtitle's font size ...
SUBTITLE_LINE_IN = 0.13  # ... and the height of one of its lines (a long subtitle wraps: the figure grows)


def _text(value: str) -> str:
    """Data as literal matplotlib text: ``$`` would start mathtext, a leading ``_`` hides a legend entry."""
    value = str(value).replace("$", r"\$")
    return " " + value if value.startswith("_") else value


def _positions(chart: dict) -> dict[str, int] | None:
    cats = chart["x"].get("categories")
    return {c: i for i, c in enumerate(cats)} if cats is not None else None


def _xy(points: list[dict], pos: dict[str, int] | None) -> tuple[list, list]:
    xs = [pos[p["x"]] if pos is not None else p["x"] for p in points]
    return xs, [p["y"] for p in points]


def _draw_series(ax, chart: dict, s: dict, pos: dict[str, int] | None) -> None:
    marker, style = MARKERS.get(s["marker"], "o"), "--" if s["dash"] else "-"
    pts = [p for p in s["points"] if p["x"] is not None and p["y"] is not None]
    if s["line"] != "none":
        line_pts = pts if s["line"] == "all" else [p for p in pts if not p["faded"]]
        xs, ys = _xy(line_pts, pos)
        ax.plot(xs, ys, style, color=s["color"], lw=1.6, marker=marker, markersize=4.5, markeredgecolor="white",
                label=_text(s["name"]), zorder=2)
    spread = [p for p in pts if p.get("ylo") is not None and p.get("yhi") is not None]
    if spread:  # the min-max over the rounds
        xs, ys = _xy(spread, pos)
        lower = [y - p["ylo"] for y, p in zip(ys, spread)]
        upper = [p["yhi"] - y for y, p in zip(ys, spread)]
        ax.errorbar(xs, ys, yerr=[lower, upper], fmt="none", ecolor=s["color"], elinewidth=0.9, capsize=2,
                    alpha=0.7, zorder=2.5)
    for faded in (True, False):
        xs, ys = _xy([p for p in pts if p["faded"] == faded], pos)
        if xs:
            ax.scatter(xs, ys, s=18 if faded else 26, marker=marker, color=s["color"], alpha=0.25 if faded else 0.95,
                       edgecolors="white", linewidths=0.6, zorder=3,
                       label=_text(s["name"]) if s["line"] == "none" and not faded else None)


def _draw_bars(ax, chart: dict) -> None:
    cats = chart["x"]["categories"]
    bottoms = [0.0] * len(cats)
    pos = _positions(chart)
    for s in chart["series"]:
        for p in s["points"]:
            i = pos[p["x"]]
            ax.bar(i, p["y"], bottom=bottoms[i], color=p.get("color", s["color"]), width=0.7,
                   edgecolor="white", linewidth=0.5, zorder=2)
            bottoms[i] += p["y"] or 0.0
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([_text(c) for c in cats], rotation=35, ha="right", fontsize=7)


def _subtitle_lines(subtitle: str, width_in: float) -> list[str]:
    """The subtitle wrapped to the axes' width (a DejaVu Sans character is about 0.55 em wide)."""
    return textwrap.wrap(_text(subtitle), max(30, int(width_in * 72 / (0.55 * SUBTITLE_PT)))) or [""]


def _style(ax, chart: dict, pos: dict[str, int] | None, subtitle: list[str]) -> None:
    if chart["x"]["log"]:
        ax.set_xscale("log")
        _log_ticks(ax.xaxis)
    if chart["y"]["log"]:
        ax.set_yscale("log")
        _log_ticks(ax.yaxis)
    if pos is not None and chart["kind"] != "bar":
        ax.set_xticks(range(len(pos)))
        ax.set_xticklabels([_text(c) for c in pos], fontsize=7)
    top = chart["x"].get("max")
    if top is not None and pos is None:
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, min(hi, top + (top - lo) * 0.03))
    ax.set_xlabel(_text(chart["x"]["label"]), color=INK, fontsize=9)
    ax.set_ylabel(_text(chart["y"]["label"]), color=INK, fontsize=9)
    ax.grid(True, color=GRID, lw=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    extra_pt = 72 * SUBTITLE_LINE_IN * (len(subtitle) - 1)
    ax.set_title(_text(chart["title"]), loc="left", fontsize=11, color=INK, fontweight="bold", pad=18 + extra_pt)
    ax.text(0, 1.02, "\n".join(subtitle), transform=ax.transAxes, fontsize=SUBTITLE_PT, color="#6b7280",
            va="bottom", linespacing=1.2)


def _short(value: float, _pos=None) -> str:
    """Tick labels like the page's: 2k, 50k, 1.5M, 0.02."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _log_ticks(axis) -> None:
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_short))
    axis.set_minor_formatter(NullFormatter())


def draw(chart: dict) -> Figure:
    """The chart as a matplotlib Figure (not yet saved).

    Margins are fixed by hand: constrained layout would double the drawing time of every chart.
    A long legend goes below the plot, where it cannot hide lines.
    """
    bar = chart["kind"] == "bar"
    n_cats = len(chart["x"].get("categories") or [])
    n_series = 0 if bar else len(chart["series"])
    below = n_series > 5
    ncol = 3 if n_series > 12 else 2
    legend_in = 0.2 * -(-n_series // ncol) + 0.3 if below else 0.0
    longest = max((len(c) for c in chart["x"].get("categories") or []), default=0)
    bottom_in = (0.45 + 0.042 * longest) if bar else 0.55 + legend_in
    width = max(6.4, 0.45 * n_cats + 2) if bar else 6.4
    subtitle = _subtitle_lines(chart["subtitle"], width * (RIGHT - LEFT))
    top_in = 0.62 + SUBTITLE_LINE_IN * (len(subtitle) - 1)
    height = 3.28 + top_in + bottom_in
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    fig.subplots_adjust(left=LEFT, right=RIGHT, top=1 - top_in / height, bottom=bottom_in / height)
    pos = _positions(chart)
    if bar:
        _draw_bars(ax, chart)
    else:
        for s in chart["series"]:
            _draw_series(ax, chart, s, pos)
        if below:
            ax.legend(fontsize=7, ncol=ncol, frameon=False, loc="upper left",
                      bbox_to_anchor=(-0.02, -0.5 / (height - bottom_in - top_in) - 0.02))
        elif n_series:
            ax.legend(fontsize=7, frameon=False, loc="best")
    _style(ax, chart, pos, subtitle)
    return fig


def write_chart(chart: dict, out_dir: Path, fmt: str = "png") -> Path:
    """Save one chart as ``<id>.<fmt>`` in ``out_dir``; returns its path."""
    path = out_dir / f"{chart['id']}.{fmt}"
    fig = draw(chart)
    FigureCanvasAgg(fig)
    with rc_context({"svg.hashsalt": chart["id"]}):  # stable element ids in SVG files
        fig.savefig(path, dpi=110 if fmt == "png" else None, facecolor="white", metadata=_metadata(fmt))
    return path


def _metadata(fmt: str) -> dict:
    """No creation date or software version in the files: the same results give the same bytes."""
    return {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}

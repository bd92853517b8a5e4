"""``build_report``: results directories in, a self-contained report folder out.

A pure function of the results: nothing is re-run and nothing is written
under a results directory. The folder is assembled beside its destination
and swapped in whole, so a reader never sees half a report and charts of an
older report never linger.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

from annbench.atomic import remove_stale, temp_beside, temp_prefix
from annbench.errors import UserError
from annbench.report.charts import FORMATS, write_chart
from annbench.report import difficulty
from annbench.report.by_size import size_blocks
from annbench.report.explorer import explore
from annbench.report.filtered import filtered_blocks
from annbench.report.load import load
from annbench.report.page import GENERATOR, Page, render_page
from annbench.report.palette import index_colors
from annbench.report.sections import build_sections, comparison_charts
from annbench.report.under_load import under_load_blocks


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_out_dir(out: Path, results: Sequence[Path]) -> None:
    """Refuse an output folder that would overwrite results or something that is not a report."""
    target = out.resolve()
    for d in results:
        d = d.resolve()
        if _inside(target, d) or _inside(d, target):
            raise UserError(f"--out {out} overlaps the results directory {d}; the report never writes there")
    if target.exists():
        if not target.is_dir():
            raise UserError(f"--out {out} exists and is not a directory")
        index = target / "index.html"
        ours = index.is_file() and GENERATOR in index.read_text(encoding="utf-8", errors="replace")[:2000]
        if not ours and any(target.iterdir()):
            raise UserError(f"--out {out} exists and is not an annbench report; choose another folder")


def _swap_in(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f"{temp_prefix(out)}old-x")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_report(results: Sequence[str | os.PathLike], out: str | os.PathLike, recall_col: str = "recall_ties",
                 image_format: str = "png", dataset_dirs: Sequence[str | os.PathLike] = (),
                 machine: str | None = None, env: str | None = None, points: dict | None = None) -> Path:
    """Write ``out/index.html`` and one image file per chart; returns the page's path.

    ``dataset_dirs``: extra folders where the explorer looks for dataset files by name.
    ``machine``, ``env``: only the results of matching machines and library versions.
    ``points``: only these datasets, query sets and indexes (:func:`annbench.results.subset.select_points`).
    """
    if image_format not in FORMATS:
        raise UserError(f"unknown image format {image_format!r} (choose from {', '.join(FORMATS)})")
    data = load(list(results), recall_col, machine, env, points)
    out = Path(out)
    check_out_dir(out, data.dirs)
    ok_names = sorted(data.ok_all["index"].unique()) if len(data.records) else []
    colors = index_colors(ok_names) | {n: "#8a8f98" for n in data.records.get("index", []) if n not in ok_names}
    sections = build_sections(data.ok, recall_col, colors) if len(data.records) else []
    page = Page(data, recall_col, colors, sections, comparison_charts(sections, recall_col, colors),
                image_ext=image_format)
    searched, cache = tuple(Path(d) for d in dataset_dirs), {}
    page.explorers = {s.anchor: explore(s.rows, recall_col, colors, searched, cache=cache) for s in sections}
    page.sizes = size_blocks(data.ok, recall_col, colors) if len(data.records) else []
    page.blocks = under_load_blocks(data.under_load, recall_col, colors) if len(data.records) else []
    page.blocks += filtered_blocks(data.filtered, recall_col, colors) if len(data.records) else []
    for sec in sections:  # needs the dataset files, as the explorer does
        sec.charts += difficulty.charts(sec.rows, recall_col, colors, searched, cache, sec.anchor)
        sec.difficulty = difficulty.section_medians(sec.rows, searched, cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out.parent)  # what a report build killed with kill -9 left behind
    tmp = temp_beside(out, folder=True)
    try:
        for chart in ([c for s in sections for c in s.charts] + page.comparisons
                      + [c for b in [*page.sizes, *page.blocks] for c in b.charts]):
            write_chart(chart, tmp, image_format)
        (tmp / "index.html").write_text(render_page(page), encoding="utf-8")
        tmp.chmod(0o755)
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"

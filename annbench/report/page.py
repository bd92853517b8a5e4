"""The report page: one HTML file with its styles, scripts and chart data inlined.

It opens from the file system with no network; the chart images beside it are
referenced only as fallbacks (no script) and download links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from annbench.report import fmt
from annbench.report.explorer_view import explorer_html
from annbench.report.load import ReportInput
from annbench.report.markup import esc, script_json, tag
from annbench.report.runs import manifests_table
from annbench.report.sections import Section
from annbench.report.spec import RECALL_NAMES
from annbench.report.cards import headline
from annbench.report.tables import best_table, failures_table, results_table
from annbench.results.envs import runtime_label

GENERATOR = "annbench report"  # marks a folder as a report that may be replaced


@dataclass
class Page:
    data: ReportInput
    recall_col: str
    colors: dict[str, str]
    sections: list[Section] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)
    explorers: dict[str, dict] = field(default_factory=dict)  # section anchor -> explorer data
    sizes: list = field(default_factory=list)  # by_size.SizeBlock: results swept at several n
    blocks: list = field(default_factory=list)  # blocks.Block: points under load, filtered points
    image_ext: str = "png"


def _asset(name: str) -> str:
    text = (resources.files("annbench.report") / "assets" / name).read_text(encoding="utf-8")
    assert "</script" not in text.lower() and "</style" not in text.lower(), name
    return text


def _figure(chart: dict, ext: str) -> str:
    image = f"{chart['id']}.{ext}"
    return tag("figure", (
        tag("h4", esc(chart["title"])) + tag("p", esc(chart["subtitle"]), class_="subtitle")
        + '<div class="plot-box"></div>'
        + f'<noscript><img src="{esc(image)}" alt="{esc(chart["title"])}"></noscript>'
        + tag("figcaption", tag("a", esc(ext.upper()), href=image, download=""))
    ), class_="chart", id=f"chart-{chart['id']}", data_chart=chart["id"])


def _facts(rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    bits = [f"{int(first['nb']):,} base vectors" if pd.notna(first["nb"]) else None,
            f"d={int(first['d'])}" if pd.notna(first["d"]) else None,
            f"metric {first['metric']}" if first["metric"] else None,
            f"{first['modality']} queries" if first["modality"] else None,
            f"{int(first['n_queries']):,} queries" if pd.notna(first["n_queries"]) else None,
            f"{len(rows):,} points"]
    return tag("p", esc(" · ".join(b for b in bits if b)), class_="muted") + _provenance(rows)


def _provenance(rows: pd.DataFrame) -> str:
    """Where the section's numbers come from: machine, library versions, the timing rule."""
    machines = sorted({str(m) for m in rows["machine_label"].dropna()})
    versions = sorted({v for vs in rows.get("versions", pd.Series(dtype=object)).dropna() if isinstance(vs, dict)
                       for v in vs.values()})
    rules = {json.dumps(t, sort_keys=True) for t in rows.get("timing", pd.Series(dtype=object)).dropna()
             if isinstance(t, dict)}
    runtimes = sorted({runtime_label(r) for r in rows.get("runtime", pd.Series(dtype=object)).dropna()})
    parts = [f"machine: {'; '.join(machines)}" if machines else None,
             f"libraries: {', '.join(versions)}" if versions else None, "; ".join(runtimes) or None]
    for rule in sorted(rules):
        t = json.loads(rule)
        parts.append(f"timing: {t.get('repeats')} rounds per point, {t.get('min_time_s')} s and at least "
                     f"{t.get('min_batches')} batches in all, queries in a seeded random order (seed {t.get('seed')})")
    parts = [p for p in parts if p]
    return tag("p", esc(" · ".join(parts)), class_="muted provenance") if parts else ""


def _difficulty(sec: Section) -> str:
    d = sec.difficulty
    if not d:
        return ""
    text = (f"query difficulty (medians): local intrinsic dimensionality {d['lid']:.3g} · relative contrast "
            f"{d['rc']:.3g} · out-of-distribution {d['ood']:.3g} (nearest-neighbour distance over the base's own)")
    return tag("p", esc(text), class_="muted")


def _section(page: Page, sec: Section) -> str:
    nqs = sec.nqs
    tables = tag("h3", f"Fastest setting per recall target (nq={nqs[0]:,})") + best_table(sec.best[nqs[0]], page.colors)
    if len(nqs) > 1:
        tables += tag("details", tag("summary", f"{fmt.batch_words(nqs[1])} (nq={nqs[1]:,})")
                      + best_table(sec.best[nqs[1]], page.colors), class_="more")
    explorer = tag("h3", "Query explorer") + explorer_html(page.explorers.get(sec.anchor, {"note": "not computed"}))
    charts = tag("div", "".join(_figure(c, page.image_ext) for c in sec.charts), class_="charts")
    return tag("section", tag("h2", esc(sec.title)) + _facts(sec.rows) + _difficulty(sec) + charts + tables + explorer,
               id=sec.anchor)


def _recommendation(page: Page) -> str:
    blocks = []
    for sec in page.sections:
        nq = sec.nqs[0]
        lede = (f'<a href="#{esc(sec.anchor)}"><b>{esc(sec.title)}</b></a>'
                f' <span class="muted">· {fmt.batch_words(nq)} · {esc(RECALL_NAMES[page.recall_col])}</span>')
        blocks.append(tag("div", tag("p", lede) + headline(sec.best, page.colors), class_="reco-group"))
    intro = tag("p", "The fastest measured configuration reaching each recall target among comparable points "
                "(same device, threads, batch size, machine and library versions), with what it costs.", class_="muted")
    return tag("section", tag("h2", "Recommendation") + intro + "".join(blocks), id="recommendation")


def _notice(page: Page) -> str:
    dirs = ", ".join(str(d) for d in page.data.dirs)
    n, bad = len(page.data.records), len(page.data.not_ok)
    if n == 0:
        body = (f"<h2>No results yet</h2><p>No result records were found in <code>{esc(dirs)}</code>. "
                "Run <code>annbench sweep</code> with <code>--results</code> pointing there, then rebuild this report.</p>")
    elif bad == n:
        body = (f"<h2>Every point failed or was skipped</h2><p>{n:,} points in <code>{esc(dirs)}</code>, none "
                "measured, so there is nothing to chart. The reasons are listed below.</p>")
    else:
        return ""
    return tag("div", body, class_="notice empty")


def _nav(page: Page) -> str:
    links = [("recommendation", "Recommendation")] if page.sections else []
    links += [(s.anchor, s.title) for s in page.sections]
    links += [(b.anchor, "As n grows: " + b.title.split(" · as n grows")[0]) for b in page.sizes]
    links += [(b.anchor, b.nav) for b in page.blocks]
    links += [("query-sets", "Query sets compared")] if page.comparisons else []
    links += [("failures", "Failed / skipped")] if len(page.data.not_ok) else []
    links += [("all-results", "All results"), ("runs", "Runs")] if len(page.data.records) else [("runs", "Runs")]
    return tag("nav", "".join(tag("a", esc(title), href=f"#{anchor}") for anchor, title in links))


def _size_block(page: Page, block) -> str:
    charts = tag("div", "".join(_figure(c, page.image_ext) for c in block.charts), class_="charts")
    intro = tag("p", "The same sweep on nested prefixes of one base (annbench scale): how the best index, "
                "its setting and its cost move with n.", class_="muted")
    return tag("section", tag("h2", esc(block.title)) + intro + charts + block.table, id=block.anchor)


def _block(page: Page, block) -> str:
    charts = tag("div", "".join(_figure(c, page.image_ext) for c in block.charts), class_="charts")
    return tag("section", tag("h2", esc(block.title)) + tag("p", block.intro, class_="muted") + charts + block.table,
               id=block.anchor)


def _tail(page: Page) -> str:
    out = "".join(_size_block(page, b) for b in page.sizes) + "".join(_block(page, b) for b in page.blocks)
    if page.comparisons:
        charts = tag("div", "".join(_figure(c, page.image_ext) for c in page.comparisons), class_="charts")
        out += tag("section", tag("h2", "Query sets compared") + tag(
            "p", "The same base and indexes searched with different query sets (e.g. text→image vs image→image).",
            class_="muted") + charts, id="query-sets")
    if len(page.data.not_ok):
        out += tag("section", tag("h2", f"Failed and skipped points ({len(page.data.not_ok):,})")
                   + failures_table(page.data.not_ok), id="failures")
    if len(page.data.records):
        out += tag("section", tag("h2", f"All results ({len(page.data.records):,} points)")
                   + '<input class="filter" type="search" placeholder="filter rows…" data-for="raw-table" aria-label="filter rows">'
                   + results_table(page.data.records, page.recall_col, "raw-table"),
                   id="all-results")
    out += tag("section", tag("h2", "Runs") + manifests_table(page.data.manifests), id="runs")
    return out


def render_page(page: Page) -> str:
    """The whole HTML document."""
    charts = ({c["id"]: c for sec in page.sections for c in sec.charts} | {c["id"]: c for c in page.comparisons}
              | {c["id"]: c for b in [*page.sizes, *page.blocks] for c in b.charts})
    sources = ", ".join(str(d) for d in page.data.dirs)
    header = tag("header", tag("div", "<h1>Which index?</h1>" + tag(
        "p", f"annbench report · {len(page.data.records):,} points from {esc(sources)}", class_="sub")
        + _nav(page), class_="wrap"), class_="top")
    body = _notice(page) + (_recommendation(page) if page.sections else "")
    body += "".join(_section(page, s) for s in page.sections) + _tail(page)
    footer = tag("footer", "QPS: median over rounds of queries per wall-clock second of a round's timed batches "
                 "(the range is the rounds' min–max). Cores busy: process CPU seconds per wall second while timed "
                 "(OpenMP threads spinning at a barrier count). "
                 f"Recall: {esc(RECALL_NAMES[page.recall_col])} at k. Bytes / vector: the serialised index size / n. "
                 "Built by annbench from stored results only; nothing was re-run.")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="{GENERATOR}"><title>annbench report</title>'
            f"<style>{_asset('report.css')}</style></head><body>{header}"
            f'<main class="wrap">{body}{footer}</main><div id="tip" role="tooltip" hidden></div>'
            f'<script id="chart-data" type="application/json">{script_json(charts)}</script>'
            f"<script>{_asset('chart.js')}</script><script>{_asset('table.js')}</script></body></html>\n")

"""The query explorer as HTML: exact top-k beside each index's top-k, misses marked."""

from __future__ import annotations

from annbench.report.markup import esc, tag

MARKS = {"hit": "", "tie": "≈", "miss": "✗", "none": "✗"}
TITLES = {"hit": "in the exact top-k", "tie": "a tie with the k-th exact neighbour (counts for tie-aware recall)",
          "miss": "not in the exact top-k", "none": "nothing returned"}


def _setting(s: dict) -> str:
    return " · ".join(p for p in (s["build"], s["search"]) if p and p != "-") or "default settings"


def _score(item: dict, metric: str) -> str:
    if item["score"] is None:
        return ""
    name = "cos" if metric == "angular" else "dist"
    return tag("span", esc(f"{name} {item['score']:.3f}"), class_="score")


def _cell(item: dict, metric: str) -> str:
    status = item.get("status")
    mark = tag("span", MARKS[status], class_="mark") if status and MARKS[status] else ""
    body = mark + tag("span", esc(item["label"]), class_="label") + _score(item, metric)
    return tag("td", body, class_=status, title=f"id {item['id']}" + (f" — {TITLES[status]}" if status else ""))


def _query(query: dict, view: dict) -> str:
    head = '<th class="rank">#</th><th>exact</th>' + "".join(
        tag("th", tag("span", "", class_="dot", style=f"--c:{s['color']}") + esc(s["name"])
            + tag("small", esc(f"{_setting(s)} · recall {s['recall']:.3f}")))
        for s in view["settings"])
    rows = []
    for rank, exact in enumerate(query["exact"]):
        cells = "".join(_cell(col[rank], view["metric"]) if rank < len(col) else "<td></td>" for col in query["found"])
        rows.append(f'<tr><td class="rank">{rank + 1}</td>{_cell(exact, view["metric"])}{cells}</tr>')
    hard = query.get("difficulty") or {}
    caption = (f'<span class="role">{esc(query["role"])}</span> query #{query["qid"]}: '
               f'<q>{esc(query["label"])}</q>' + _difficulty(hard))
    table = f'<div class="scroll"><table class="explorer"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    data = {f"data_{m}": "" if hard.get(m) is None else str(hard[m]) for m in SORTS}
    return tag("details", f"<summary>{caption}</summary>{table}", class_="query",
               open="" if query["role"] == "hardest" else None, **data)


SORTS = {"misses": "misses (all indexes)", "lid": "local intrinsic dimensionality", "rc": "relative contrast",
         "ood": "out-of-distribution"}


def _difficulty(hard: dict) -> str:
    parts = [f"{m.upper()} {hard[m]:.3g}" for m in ("lid", "rc", "ood") if hard.get(m) is not None]
    if "misses" in hard:
        parts.append(f"{hard['misses']} missed")
    return tag("span", esc(" · ".join(parts)), class_="difficulty") if parts else ""


def _sorter() -> str:
    options = "".join(f'<option value="{m}">{esc(label)}</option>' for m, label in
                      [("order", "the order above"), *SORTS.items()])
    return (f'<label class="explorer-sort">sort queries by <select aria-label="sort queries">{options}</select>'
            '</label> <span class="muted">(hardest first)</span>')


def explorer_html(view: dict) -> str:
    """The explorer block of one section, or the note saying why it is absent."""
    if view.get("note"):
        return tag("p", "Query explorer: " + esc(view["note"]) + ".", class_="muted")
    intro = ("Each index at its setting closest to recall 0.9. "
             '<span class="legend-mark miss">✗</span> not in the exact top-k, '
             '<span class="legend-mark tie">≈</span> tie with the k-th exact neighbour. '
             "Difficulty: LID (local intrinsic dimensionality: higher is harder), RC (relative contrast: "
             "nearer 1 is harder), OOD (nearest-neighbour distance over the base's own: above 1 lies outside "
             "the base's distribution).")
    body = "".join(_query(q, view) for q in view["queries"])
    return f'<p class="muted">{intro}</p>' + tag("div", _sorter() + body, class_="explorer-queries")

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
    caption = (f'<span class="role">{esc(query["role"])}</span> query #{query["qid"]}: '
               f'<q>{esc(query["label"])}</q>')
    table = f'<div class="scroll"><table class="explorer"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    return tag("details", f"<summary>{caption}</summary>{table}", class_="query",
               open="" if query["role"] == "hardest" else None)


def explorer_html(view: dict) -> str:
    """The explorer block of one section, or the note saying why it is absent."""
    if view.get("note"):
        return tag("p", "Query explorer: " + esc(view["note"]) + ".", class_="muted")
    intro = ("Each index at its setting closest to recall 0.9. "
             '<span class="legend-mark miss">✗</span> not in the exact top-k, '
             '<span class="legend-mark tie">≈</span> tie with the k-th exact neighbour.')
    return f'<p class="muted">{intro}</p>' + "".join(_query(q, view) for q in view["queries"])

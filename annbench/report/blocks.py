"""A report block beside the sections: points measured another way than one caller on every row
(under concurrent clients, on filtered rows), with their own charts, since their QPS does not compare
with the sections' QPS."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    title: str        # the heading
    anchor: str       # the element id the navigation links to
    nav: str          # the navigation's link text
    intro: str        # one paragraph of HTML: what was measured and how to read it
    charts: list[dict] = field(default_factory=list)
    table: str = ""   # HTML

"""The recommendation cards: "recall >= T: use X with Y", with what it costs and how sure we are.

A card names the fastest comparable configuration (see :mod:`annbench.report.recommend`), its
median QPS with the rounds' range, the parallelism that ran, the bytes per vector and build time,
and says "tie within noise" when the runner-up's rounds overlap the winner's.
"""

from __future__ import annotations

import math

import pandas as pd

from annbench.report import fmt
from annbench.report.markup import esc, tag
from annbench.report.recommend import series_name
from annbench.results.select import tie_state
from annbench.results.summary import counted

DEFAULT = "default settings"


def known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def dot(color: str) -> str:
    return tag("span", "", class_="dot", style=f"--c:{color}")


def setting(build: str | None, search: str | None) -> str:
    parts = [p for p in (build, search) if p and p != "-"]
    return " · ".join(parts) or DEFAULT


def _noise(row: pd.Series) -> str:
    if not isinstance(row.get("runner_up"), str):
        return "no other index reaches it"
    other = f"{esc(row['runner_up'])} ({esc(fmt.qps(row['runner_up_qps']))} QPS)"
    tie = tie_state(row["tie"])
    if tie is True:
        return f'<b class="tie">tie within noise</b> with {other}: their rounds overlap'
    if tie is False:
        return f"ahead of {other} beyond the round-to-round spread"
    return f"runner-up {other}; spread unknown (one round)"


def pick(row: pd.Series, target: float, colors: dict[str, str]) -> str:
    if not row["reached"]:
        return (f'<p class="pick none">nothing reaches {target:g}'
                f' <span class="muted">(best recall {esc(fmt.recall(row["recall"]))})</span></p>')
    use = f'use {dot(colors.get(row["index"], "#888"))}<b>{esc(series_name(row["index"], row["device"]))}</b>'
    chosen = setting(row["build_label"], row["search_label"])
    with_setting = "" if chosen == DEFAULT else f" with <code>{esc(chosen)}</code>"
    spread = fmt.qps_range(row["qps_min"], row["qps_max"])
    size = (f"{fmt.per_vector(row['bytes_per_vector'])} / vector" if known(row["bytes_per_vector"])
            else "size unknown")
    return (f'<p class="pick">{use}{with_setting}</p>'
            f'<p class="figures"><b>{esc(fmt.qps(row["qps"]))}</b> QPS'
            + (f' <span class="muted">({esc(spread)})</span>' if spread else "")
            + f' · {esc(fmt.threads(row["cpu_util"]))} cores busy · {esc(size)} · {esc(fmt.seconds(row["build_s"]))} build</p>'
            f'<p class="muted">recall {esc(fmt.recall(row["recall"]))}; {_noise(row)}</p>'
            + (f'<p class="quality">{esc(row["quality"])}</p>' if isinstance(row.get("quality"), str) else ""))


def _group_title(device: str, threads, several: bool) -> str:
    return f" · {device}, {counted(threads, 'thread')} given" if several else ""


def headline(best: dict[int, pd.DataFrame], colors: dict[str, str]) -> str:
    """Cards per target (and per device / thread count, when several) at the largest nq; nq=1 beneath."""
    nqs = list(best)
    main, small = best[nqs[0]], (best[nqs[1]] if len(nqs) > 1 else None)
    overall = main[main["scope"] == "overall"]
    several = overall[["device", "threads"]].drop_duplicates().shape[0] > 1
    cards = []
    for (target, device, threads), rows in overall.groupby(["target", "device", "threads"], sort=True, dropna=False):
        row = rows.iloc[0]
        body = tag("div", f"recall ≥ {target:g}{_group_title(device, threads, several)}", class_="target")
        body += pick(row, target, colors)
        if small is not None:
            alt = small[(small["scope"] == "overall") & (small["target"] == target) & (small["device"] == device)
                        & (small["threads"] == threads)]
            if len(alt) and alt.iloc[0]["reached"]:
                a = alt.iloc[0]
                chosen = setting(a["build_label"], a["search_label"])
                body += (f'<p class="alt">{fmt.batch_words(nqs[1])}: {esc(series_name(a["index"], a["device"]))}'
                         f'{"" if chosen == DEFAULT else " " + esc(chosen)}, {esc(fmt.qps(a["qps"]))} QPS</p>')
        cards.append(tag("div", body, class_="card" + ("" if row["reached"] else " unreached")))
    return tag("div", "".join(cards), class_="cards")

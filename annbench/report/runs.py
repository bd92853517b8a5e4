"""The run manifests as one table, runs side by side: which machine, GPU, libraries, threads.

Numbers mean little without the machine they came from. Manifests are read
generically (nested keys flattened), so fields the runner adds later still show.
"""

from __future__ import annotations

from annbench.report import fmt
from annbench.report.markup import esc

# Known fields first, with readable names; anything else follows under its dotted key.
KNOWN = (
    ("time", "started"), ("command", "command"), ("machine.cpu_model", "CPU"), ("machine.cores", "cores"),
    ("machine.memory_bytes", "memory"), ("machine.gpus", "GPUs"), ("threads", "threads"),
    ("blas_threshold", "faiss BLAS threshold"), ("timing.repeats", "rounds per point"),
    ("timing.min_time_s", "measuring time per point (s)"), ("timing.seed", "query order seed"),
)


def _flatten(obj, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in (obj or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _show(key: str, value) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if key.endswith("memory_bytes") and isinstance(value, (int, float)):
        return f"{value / (1 << 30):.1f} GiB"
    if isinstance(value, list):
        return "; ".join(_show("", v) for v in value)
    if isinstance(value, dict):  # a GPU: its name first, then the rest
        name = value.get("name") or value.get("model")
        rest = ", ".join(_show(k, v) for k, v in value.items() if k not in ("name", "model"))
        return f"{name} ({rest})" if name and rest else str(name or rest)
    return fmt.number(value) if isinstance(value, (int, float)) else str(value)


def manifests_table(manifests: dict[str, dict]) -> str:
    if not manifests:
        return '<p class="muted">No run manifest was found in the results directories.</p>'
    runs = sorted(manifests)
    flat = {run: _flatten(manifests[run]) for run in runs}
    keys = [k for k, _ in KNOWN]
    keys += sorted(k for k in set().union(*map(set, flat.values())) if k not in keys and k != "run_id")
    names = dict(KNOWN)
    head = "<th></th>" + "".join(f"<th>{esc(run)}</th>" for run in runs)
    rows = []
    for key in keys:
        if all(key not in flat[run] for run in runs):
            continue
        title = names.get(key) or key.removeprefix("versions.")
        cells = "".join(f"<td>{esc(_show(key, flat[run].get(key)))}</td>" for run in runs)
        rows.append(f'<tr><th scope="row">{esc(title)}</th>{cells}</tr>')
    return f'<div class="scroll"><table class="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'

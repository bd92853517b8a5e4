"""The report: golden plot data on fixed results, escaping, empty states, purity, CLI.

Fixed inputs live in tests/data/report_fixture (rebuilt only by its
build_fixture.py); expected outputs in tests/golden/report_*.json. After an
intended change, regenerate them with ``ANNBENCH_UPDATE_GOLDEN=1 pytest tests/test_report.py``
and review the diff.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annbench.cli.main import main
from annbench.errors import UserError
from annbench.report.build import build_report
from annbench.report.explorer import explore
from annbench.report.load import load
from annbench.report.palette import index_colors
from annbench.report.pareto import pareto_mask
from annbench.report.recommend import best_per_target
from annbench.report.sections import build_sections, comparison_charts
from annbench.report.tradeoff import frontier_table, recall_qps_chart
from annbench.results.store import ResultStore

FIXTURE = Path(__file__).parent / "data" / "report_fixture"
RESULTS = FIXTURE / "results"
GOLDEN = Path(__file__).parent / "golden"
RECALL = "recall_ties"


def _hostile():
    spec = importlib.util.spec_from_file_location("hostile", FIXTURE / "hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plain(obj):
    """JSON-comparable: floats to 6 significant digits, NaN to None, numpy to Python."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else float(f"{obj:.6g}")
    return obj


def check_golden(name: str, actual) -> None:
    path = GOLDEN / f"report_{name}.json"
    actual = _plain(actual)
    if os.environ.get("ANNBENCH_UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(path.read_text())
    assert actual == expected, f"{path.name} differs (ANNBENCH_UPDATE_GOLDEN=1 regenerates it; review the diff)"


@pytest.fixture(scope="module")
def data():
    return load([RESULTS], RECALL)


@pytest.fixture(scope="module")
def colors(data):
    return index_colors(data.ok["index"])


@pytest.fixture(scope="module")
def sections(data, colors):
    return build_sections(data.ok, RECALL, colors)


def _dominated(r: float, q: float, rs: np.ndarray, qs: np.ndarray) -> bool:
    return bool(np.any((rs >= r) & (qs >= q) & ((rs > r) | (qs > q))))


# --- pure plot data ---------------------------------------------------------------------------

def test_pareto_mask_by_hand() -> None:
    recall = [0.5, 0.9, 0.9, 0.7, 0.99, 0.6, np.nan, 0.99]
    qps = [100, 50, 40, 50, 10, 100, 1e9, 10]
    # 0: best QPS; 1: best at 0.9; 2: same recall, slower; 3: same QPS as 1, lower recall;
    # 4 and 7: duplicates, both kept; 5: beats 0 on recall at equal QPS; 6: NaN never counts
    assert pareto_mask(recall, qps).tolist() == [False, True, False, False, True, True, False, True]
    assert pareto_mask([], []).tolist() == []


def test_frontier_matches_definition_and_golden(data) -> None:
    ok = data.ok
    table = frontier_table(ok, RECALL)
    for (nq, index, device), part in ok.groupby(["nq", "index", "device"]):
        rs, qs = part[RECALL].to_numpy(), part["qps"].to_numpy()
        on = pareto_mask(rs, qs)
        assert on.any()
        for r, q, flag in zip(rs, qs, on):
            assert flag != _dominated(r, q, rs, qs)
        assert len(table.query("nq == @nq and index == @index and device == @device")) == on.sum()
    check_golden("frontier", table.to_dict(orient="records"))


def test_best_per_target_is_the_fastest_reaching_it(data, sections) -> None:
    golden = {}
    for sec in sections:
        for nq, best in sec.best.items():
            rows = sec.rows[sec.rows["nq"] == nq]
            for _, b in best[best["scope"] == "overall"].iterrows():
                reaching = rows[rows[RECALL] >= b["target"]]
                assert b["reached"] == (len(reaching) > 0)
                if b["reached"]:
                    assert b["qps"] == reaching["qps"].max() and b["recall"] >= b["target"]
            golden[f"{sec.title} nq={nq}"] = best.drop(columns=["id"]).to_dict(orient="records")
    assert set(best["target"]) == {0.8, 0.9, 0.95, 0.99}
    check_golden("best", golden)


def test_unreached_target_reports_best_recall() -> None:
    df = pd.DataFrame({"index": ["a", "a"], "device": ["cpu", "cpu"], "build_label": ["-", "-"],
                       "search_label": ["x=1", "x=2"], RECALL: [0.5, 0.85], "qps": [10.0, 5.0],
                       "batch_p50_ms": [1.0, 2.0], "index_bytes": [1 << 20] * 2, "memory_bytes": [np.nan] * 2,
                       "build_s": [1.0, 1.0], "nq": [1, 1], "id": ["p", "q"], "status": ["ok", "ok"],
                       "dataset": ["d", "d"], "query_set": ["q", "q"], "k": [10, 10], "threads": [2, 2]})
    best = best_per_target(df, RECALL).set_index(["target", "scope"])
    assert best.loc[(0.8, "overall"), "search_label"] == "x=2"
    assert best.loc[(0.8, "overall"), "index_mb"] == 1.0
    assert not best.loc[(0.9, "a"), "reached"] and best.loc[(0.9, "a"), "recall"] == 0.85


def test_chart_series_golden(sections, colors) -> None:
    charts = [c for s in sections for c in s.charts] + comparison_charts(sections, RECALL, colors)
    kinds = {c["id"].split("-", 3)[-1] for c in charts}
    assert {"recall-qps-nq1", "recall-qps-nq40", "latency-hnsw", "recall-param-ivf-flat", "build-time",
            "index-size"} <= kinds and "tiny-clip-query-sets" in {c["id"] for c in charts}
    for chart in charts:
        assert chart["series"] and all(s["points"] for s in chart["series"]), chart["id"]
        for s in chart["series"]:
            for p in s["points"]:
                assert p["info"] and all(isinstance(v, str) for pair in p["info"] for v in pair)
    # the hover text of one point names every parameter and the measurements
    qps40 = next(c for c in charts if c["id"] == "tiny-clip-text-recall-qps-nq40")
    hnsw = next(s for s in qps40["series"] if s["name"] == "hnsw")
    info = dict(hnsw["points"][0]["info"])
    assert {"index", "build", "search", "nq / k", "recall (tie-aware)", "index size"} <= set(info)
    assert "ef=" in info["search"] and "ef_construction=" in info["build"]
    assert {"QPS (median of rounds)", "cores busy", "bytes / vector", "batches timed"} <= set(info)
    # every measured point carries its spread over the rounds
    assert all("ylo" in p and p["ylo"] <= p["y"] <= p["yhi"] for s in qps40["series"] for p in s["points"])
    stripped = [{**c, "series": [{**s, "points": [{k: v for k, v in p.items() if k != "info"} for p in s["points"]]}
                                 for s in c["series"]]} for c in charts]
    check_golden("charts", stripped)


def test_explorer_golden(sections, colors) -> None:
    views = {s.anchor: explore(s.rows, RECALL, colors) for s in sections}
    for view in views.values():
        assert view["note"] is None and 3 < len(view["queries"]) <= 8
        roles = [q["role"] for q in view["queries"]]
        assert roles[:3] == ["hardest", "typical", "easiest"] and set(roles[3:]) == {"by difficulty"}
        lids = [q["difficulty"]["lid"] for q in view["queries"] if q["role"] == "by difficulty"]
        assert lids == sorted(lids) and all(q["difficulty"]["lid"] > 0 for q in view["queries"])
        for q in view["queries"]:
            assert len(q["exact"]) == view["k"] == 10
            for col, setting in zip(q["found"], view["settings"]):
                statuses = [item["status"] for item in col]
                assert set(statuses) <= {"hit", "tie", "miss", "none"}
                if setting["name"] == "flat":
                    assert statuses == ["hit"] * 10
        assert any(item["status"] == "miss" for q in view["queries"] for col in q["found"] for item in col)
    check_golden("explorer", views)


# --- the page -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> Path:
    return build_report([RESULTS], tmp_path_factory.mktemp("rep") / "fixture")


def _tree_digest(root: Path, times: bool = True) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() + (str(p.stat().st_mtime_ns) * times)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_report_page_and_files(fixture_report: Path) -> None:
    html = fixture_report.read_text()
    charts = json.loads(html.split('<script id="chart-data" type="application/json">')[1].split("</script>")[0])
    assert len(charts) == 25
    assert {c for c in charts if "difficulty" in c} == {f"tiny-clip-{q}-difficulty-{m}" for q in ("text", "image")
                                                        for m in ("lid", "ood")}
    for cid in charts:  # every chart also exists as an image file beside the page
        assert (fixture_report.parent / f"{cid}.png").stat().st_size > 5000
        assert f'data-chart="{cid}"' in html
    # the recommendation comes first, as a sentence with its cost
    assert html.index('id="recommendation"') < html.index('class="charts"')
    assert "recall ≥ 0.95" in html and " cores busy · " in html and " build</p>" in html
    manifest = next(iter(ResultStore(RESULTS).manifests().values()))
    for text in ("Failed and skipped points (66)", "crashed (SIGSEGV)", "backend exploded",
                 "skipped: flat has no gpu variant", "All results (168 points)", manifest["machine"]["cpu_model"],
                 "faiss BLAS threshold", "rounds per point", "Query explorer", "a photo of a", "cos 0.",
                 "cores busy", "3 rounds per point", "query difficulty (medians)", "sort queries by"):
        assert text in html, text
    for remote in ('src="http', "src='http", 'href="http', "url(http", "@import", "//cdn"):  # opens offline
        assert remote not in html, remote


def test_chart_images_keep_their_text_inside_the_figure(sections, colors) -> None:
    """Every chart's title and subtitle, drawn to a file, lie inside the figure: a long subtitle wraps, and the
    title stays above it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from annbench.report.charts import draw

    drawn = [c for s in sections for c in s.charts] + comparison_charts(sections, RECALL, colors)
    assert any(len(c["subtitle"]) > 110 for c in drawn)  # the fixture has subtitles longer than one line
    for chart in drawn:
        fig = draw(chart)
        renderer = FigureCanvasAgg(fig).get_renderer()
        ax = fig.axes[0]
        title, (subtitle,) = ax.title.get_window_extent(renderer), ax.texts
        box = subtitle.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.x1, (chart["id"], chart["subtitle"])
        assert title.y1 <= fig.bbox.y1 and box.y1 <= title.y0 + 1, chart["id"]
        assert " ".join(subtitle.get_text().split()) == " ".join(chart["subtitle"].split())


@pytest.mark.parametrize("tie, text", [(True, "tie within noise"), (False, "beyond the round-to-round spread"),
                                       (None, "spread unknown (one round)")])
def test_cards_and_tables_say_when_the_winner_is_within_noise(tie, text) -> None:
    from annbench.report.cards import pick
    from annbench.report.recommend import COLUMNS
    from annbench.report.tables import best_table

    row = {c: None for c in COLUMNS} | {
        "target": 0.9, "scope": "overall", "reached": True, "index": "ivf_flat", "device": "cpu", "threads": 2,
        "build_label": "nlist=256", "search_label": "nprobe=16", "recall": 0.93, "qps": 1000.0, "qps_min": 950.0,
        "qps_max": 1050.0, "cpu_util": 2.0, "bytes_per_vector": 2080.0, "build_s": 1.0, "nq": 10,
        "runner_up": "hnsw", "runner_up_qps": 990.0, "tie": np.bool_(tie) if tie is not None else None}
    card = pick(pd.Series(row), 0.9, {"ivf_flat": "#123456"})
    assert text in card and "950–1,050" in card and "2.0 cores busy" in card and "2,080 B / vector" in card
    table = best_table(pd.DataFrame([row]), {"ivf_flat": "#123456"})
    assert ("tie within noise" in table) == (tie is True)


def test_report_never_writes_into_results(tmp_path: Path) -> None:
    results = shutil.copytree(_hostile().make_hostile_results(tmp_path / "h"), tmp_path / "copy")
    before = _tree_digest(results)
    first = _tree_digest(build_report([results], tmp_path / "out").parent, times=False)
    second = _tree_digest(build_report([results], tmp_path / "out").parent, times=False)  # replaces its own report
    assert _tree_digest(results) == before
    assert first == second and len(first) > 3  # a pure function of the results, images included
    with pytest.raises(UserError, match="overlaps the results"):
        build_report([results], results / "report")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not an annbench report"):
        build_report([results], tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()


def test_hostile_strings_are_escaped(tmp_path: Path) -> None:
    hostile = _hostile()
    page = build_report([hostile.make_hostile_results(tmp_path / "h")], tmp_path / "out", image_format="svg")
    html = page.read_text()
    for payload in hostile.PAYLOADS:
        assert payload not in html, payload
    assert html.count("<script") == 3  # only the report's own: chart data, charts, tables
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the caption, shown as text
    assert "\\u003c/script\\u003e" in html  # JSON in <script> cannot close it
    data = json.loads(html.split('type="application/json">')[1].split("</script>")[0])
    assert any(hostile.INDEX in s["name"] for c in data.values() for s in c["series"])  # intact after decoding
    for image in page.parent.glob("*.svg"):
        assert "<script" not in image.read_text()


def test_empty_results_render_a_message(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    html = build_report([tmp_path / "results"], tmp_path / "out").read_text()
    assert "No results yet" in html and "annbench sweep" in html and "</html>" in html


def test_only_failed_results_render_a_message(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    key = {"dataset": "d", "query_set": "q", "index": "ivf_pq", "build": {"M": 7}, "search": {}, "nq": 1, "k": 10,
           "device": "cpu", "threads": 1, "rerank": 0, "timing": {}, "blas_threshold": None, "env": "e"}
    store.write_record(key, {"status": "failed", "reason": "M must divide d"})
    html = build_report([tmp_path / "results"], tmp_path / "out").read_text()
    assert "Every point failed or was skipped" in html and "M must divide d" in html
    assert not list((tmp_path / "out").glob("*.png"))


def test_explorer_explains_a_missing_dataset(tmp_path: Path, data, colors) -> None:
    rows = data.ok[data.ok["query_set"] == "text"].assign(dataset_path="gone/tiny-clip.hdf5")
    assert "dataset file not found" in explore(rows, RECALL, colors)["note"]
    assert explore(rows, RECALL, colors, search_dirs=(FIXTURE,))["note"] is None  # found by name
    assert "--save-neighbors" in explore(rows.assign(neighbors_file=None), RECALL, colors)["note"]


def test_explorer_refuses_ids_saved_against_another_dataset(tmp_path: Path, data, colors) -> None:
    rows = data.ok[data.ok["query_set"] == "text"]
    bad = tmp_path / "neighbors.npy"
    np.save(bad, np.full((5, 10), 10 ** 6, dtype=np.int64))  # ids far beyond the base
    rows = rows.assign(results_dir=str(tmp_path), neighbors_file="neighbors.npy",
                       dataset_path=str(FIXTURE / "tiny-clip.hdf5"))
    assert "do not match the dataset" in explore(rows, RECALL, colors)["note"]


def test_recall_column_is_choosable(data, colors) -> None:
    chart = recall_qps_chart(data.ok[data.ok["query_set"] == "text"], 40, "recall", colors, "c")
    assert chart["x"]["label"] == "recall (strict)"
    eps = best_per_target(data.ok[(data.ok["query_set"] == "text") & (data.ok["nq"] == 40)], "recall_eps")
    assert (eps["recall"] >= eps["target"]).where(eps["reached"], True).all()
    with pytest.raises(UserError, match="unknown recall column"):
        load([RESULTS], "recall_at_k")


# --- the CLI ----------------------------------------------------------------------------------------

def test_cli_report(tmp_path: Path, capsys) -> None:
    hostile = _hostile().make_hostile_results(tmp_path / "h")
    out = tmp_path / "reports" / "x"
    assert main(["report", "--results", str(hostile), "--out", str(out), "--recall", "recall"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert main(["report", "--results", str(tmp_path / "missing"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "results directory not found" in err and len(err.strip().splitlines()) == 1

"""The report in a real browser: headless Chromium driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe`` (CDP as NUL-terminated
JSON on file descriptors 3 and 4), so no websocket library is needed. Checks:
no console errors or exceptions, no request leaves the file system, every
chart drew its points, hovering a point shows its parameters, sorting works,
hostile captions stay text. Screenshots land in pytest's tmp dir (path printed).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

from annbench.report.build import build_report

CHROMIUM = "/usr/bin/chromium"
FIXTURE = Path(__file__).parent / "data" / "report_fixture"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not found: install Debian's chromium "
                       "package (`make browser`) to run the report's browser test"),
]


class Browser:
    """A minimal CDP client: one page, commands answered in order, events kept for inspection."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:  # in the child, before exec: fd 3 reads commands, fd 4 writes replies
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)  # the pipes may themselves sit on 3 or 4
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"], preexec_fn=wire, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._replies: dict[int, queue.Queue] = {}
        self.events: list[dict] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self._replies:
                    self._replies[msg["id"]].put(msg)
                else:
                    with self._lock:
                        self.events.append(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 20) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._replies[self._next] = box = queue.Queue()
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        reply = box.get(timeout=timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def call(self, method: str, params: dict | None = None) -> dict:
        return self.send(method, params, self.session)

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_event(self, method: str, timeout: float = 20) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                for event in self.events:
                    if event.get("method") == method:
                        self.events.remove(event)
                        return event
            time.sleep(0.02)
        raise TimeoutError(method)

    def open(self, path: Path) -> None:
        with self._lock:  # a stale load event (about:blank) must not end the wait early
            self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": path.resolve().as_uri()})
        self.wait_event("Page.loadEventFired")

    def screenshot(self, path: Path, clip: dict | None = None) -> Path:
        params = {"format": "png"} | ({"clip": clip | {"scale": 1}, "captureBeyondViewport": True} if clip else {})
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))
        return path

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, dialogs and requests that left the file system."""
        out = []
        with self._lock:
            events = list(self.events)
        for e in events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')} {p['exceptionDetails'].get('exception', {}).get('description', '')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
            elif m == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:", "about:")):
                out.append(f"network request: {p['request']['url']}")
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort; the process is killed below
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report"
    return build_report([FIXTURE / "results"], out, dataset_dirs=[FIXTURE])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


COUNT_POINTS = """(() => Array.from(document.querySelectorAll('figure.chart')).map(f => ({
    id: f.dataset.chart, points: f.querySelectorAll('svg.plot .pt').length,
    faded: f.querySelectorAll('svg.plot .pt.faded').length})))()"""

HOVER_TARGET = """((chart, series) => {
    const fig = document.querySelector(`figure.chart[data-chart="${chart}"]`);
    const pts = Array.from(fig.querySelectorAll(`svg.plot .pt[data-s="${series}"]:not(.faded)`));
    fig.scrollIntoView({block: 'center'});
    for (const p of pts) {  // a point not covered by another one
        const r = p.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (document.elementFromPoint(x, y) === p) return {x, y, s: +p.dataset.s, p: +p.dataset.p};
    }
    return null;
})"""


def test_report_renders_in_chromium(report: Path, browser: Browser, tmp_path_factory) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    browser.open(report)
    charts = browser.js(COUNT_POINTS)
    specs = json.loads(browser.js("document.getElementById('chart-data').textContent"))
    assert len(charts) == len(specs) >= 19
    for chart in charts:  # every point of the spec became an SVG element
        expected = sum(len(s["points"]) for s in specs[chart["id"]]["series"])
        assert chart["points"] == expected > 0, chart
    assert any(c["faded"] for c in charts if "recall-qps" in c["id"]), "dominated points should be faded"
    browser.screenshot(shots / "top.png")

    chart = "tiny-clip-image-recall-qps-nq40"
    hnsw = next(i for i, s in enumerate(specs[chart]["series"]) if s["name"] == "hnsw")
    target = browser.js(f"{HOVER_TARGET}({json.dumps(chart)}, {hnsw})")
    assert target is not None, "no hoverable point found"
    assert browser.js("document.getElementById('tip').hidden") is True
    browser.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": target["x"], "y": target["y"]})
    tip = browser.js("(() => { const t = document.getElementById('tip'); return {hidden: t.hidden, text: t.innerText}; })()")
    info = specs[chart]["series"][target["s"]]["points"][target["p"]]["info"]
    assert tip["hidden"] is False
    for name, value in info:  # the tooltip shows the point's parameters and measurements
        assert name in tip["text"] and value in tip["text"]
    assert "ef=" in tip["text"] and "ef_construction=" in tip["text"] and "QPS" in tip["text"]
    browser.screenshot(shots / "hover.png")
    print(f"\nscreenshots: {shots}")
    assert browser.problems() == []


def test_results_table_sorts_on_click(report: Path, browser: Browser) -> None:
    browser.open(report)
    column = browser.js("""(() => Array.from(document.querySelectorAll('#raw-table thead th'))
        .findIndex(th => th.textContent === 'QPS (median)'))()""")
    assert column >= 0
    read = f"""Array.from(document.querySelectorAll('#raw-table tbody tr'))
        .map(r => r.cells[{column}].dataset.v).filter(v => v !== '').map(Number)"""
    for direction in ("ascending", "descending"):
        browser.js(f"document.querySelectorAll('#raw-table thead th')[{column}].click()")
        values = browser.js(read)
        assert values == sorted(values, reverse=direction == "descending") and len(values) > 100
    assert browser.problems() == []


def test_hostile_strings_stay_text_in_the_browser(tmp_path: Path, browser: Browser) -> None:
    spec = importlib.util.spec_from_file_location("hostile", FIXTURE / "hostile.py")
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)
    results = hostile.make_hostile_results(tmp_path / "hostile")
    page = build_report([results], tmp_path / "report")
    browser.open(page)
    text = browser.js("document.body.innerText")
    assert hostile.CAPTION in text  # shown as text, not run
    assert browser.js("document.querySelectorAll('script').length") == 3
    assert browser.js("window.__pwned === undefined")
    assert browser.problems() == []


def test_explorer_queries_sort_by_difficulty(report: Path, browser: Browser) -> None:
    browser.open(report)
    order = browser.js("""(() => {
        const box = document.querySelector('.explorer-queries'), select = box.querySelector('select');
        const read = () => Array.from(box.querySelectorAll('details.query')).map(d => Number(d.dataset.lid));
        const before = read();
        select.value = 'lid'; select.dispatchEvent(new Event('change'));
        const byLid = read();
        select.value = 'order'; select.dispatchEvent(new Event('change'));
        return {before: before, byLid: byLid, back: read()};
    })()""")
    assert len(order["byLid"]) > 3 and order["byLid"] == sorted(order["byLid"], reverse=True)  # hardest first
    assert order["back"] == order["before"] and order["before"] != order["byLid"]
    assert browser.problems() == []

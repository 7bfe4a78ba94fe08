"""Open the built book in headless Chromium and check every page as a reader meets it.

    python scripts/check_book.py [HTML_DIR] [--json REPORT.json]

HTML_DIR defaults to ``_build/html``. The pages are served from a local HTTP server and
driven through the Chrome DevTools Protocol (a small client on ``websocket-client``, which
Jupyter installs); the browser is the system Chromium (``$CHROMIUM`` or ``chromium`` on PATH,
Debian: ``apt-get install chromium``), never a downloaded one. Each page of ``_toc.yml`` must

- make no request outside the local server, and every request must succeed;
- raise no JavaScript exception and log no console error;
- render what it holds: every plotly figure drawn, every image decoded, formulas typeset,
  widgets and WebGL canvases shown; a chapter page has at least one figure;
- stay under its weight limit (bytes transferred with an empty cache, ``PAGE_LIMITS``).

On top: a plotly slider, clicked, changes the slice shown, and a text page paints its
first content within ``FIRST_PAINT_LIMIT_S`` over an emulated 10 Mbit/s link (20 ms latency)
from a host that gzip-compresses text, as web hosts do.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1_000_000
# decoded bytes per page (the HTML and everything it loads, empty cache), by kind of page;
# before issue 16 a text page was 7.4-8.6 MB, a notebook page 8-15 MB, viewers.html 18 MB
# "viewers": the viewers page and every notebook page with a NiiVue 3D view
# a text page is 2.7-2.9 MB without formulas (the theme, its fonts and scripts); MathJax and its
# fonts add 1.1-1.3 MB where a page has a formula (the intro, the API page of adaptation: 4.15 MB)
# "search": the search page, a text page that also loads MathJax and the whole book's search
# index (searchindex.js; 4.7 MB in all since the API reference is indexed); only that page
# fetches the index
PAGE_LIMITS = {"text": 4.5 * MB, "search": 6 * MB, "notebook": 14 * MB, "viewers": 20 * MB}
#: kinds of page held to the first-paint limit (no figure, no widget: text must show at once)
TEXT_KINDS = ("text", "search")
FIRST_PAINT_LIMIT_S = 1.0
LINK_BYTES_PER_S = 10e6 / 8  # 10 Mbit/s
GZIP_SUFFIXES = {".html", ".js", ".css", ".json", ".svg", ".txt", ".ttf"}
LOAD_TIMEOUT_S = 120
SETTLE_S = 3.0  # after "load": widgets, MathJax, plotly and NiiVue render
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--enable-unsafe-swiftshader",  # WebGL2 for NiiVue without a GPU
    "--use-angle=swiftshader",
    "--remote-allow-origins=*",
    # nothing but the local server resolves: an external request fails and is reported
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
]

# What a page shows, counted in the browser.
COUNTS_JS = """(() => {
  const q = (s) => document.querySelectorAll(s).length;
  const imgs = Array.from(document.querySelectorAll('main img, article img'));
  return {
    plotly: q('div.plotly-graph-div'),
    plotlyDrawn: q('div.plotly-graph-div.js-plotly-plot .main-svg'),
    plotlyFigures: Array.from(document.querySelectorAll('div.plotly-graph-div'))
      .filter((d) => d.classList.contains('js-plotly-plot')).length,
    images: imgs.length,
    brokenImages: imgs.filter((im) => !(im.complete && im.naturalWidth > 0)).length,
    math: q('.math'),
    mathTypeset: q('mjx-container'),
    widgetViews: q('script[type="application/vnd.jupyter.widget-view+json"]'),
    widgetsShown: q('.jupyter-widgets, .widget-subarea > *'),
    canvases: q('canvas'),
    anywidgets: Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-state+json"]'))
      .filter((s) => s.textContent.includes('"model_module": "anywidget"')).length,
    outputFigures: q('.cell_output img, .cell_output .plotly-graph-div, .output img'),
    title: document.title,
  };
})()"""

# The first plotly figure with a slider: which traces are visible, and the active step.
SLIDER_STATE_JS = """(() => {
  const gd = Array.from(document.querySelectorAll('div.js-plotly-plot'))
    .find((g) => g.layout && g.layout.sliders && g.layout.sliders.length);
  if (!gd) return null;
  gd.scrollIntoView({block: 'center'});
  const rail = gd.querySelector('g.slider-container rect.slider-rail-rect');
  const r = rail ? rail.getBoundingClientRect() : null;
  return {
    visible: gd.data.map((t, i) => (t.visible === false ? -1 : i)).filter((i) => i >= 0),
    active: gd.layout.sliders[0].active || 0,
    steps: gd.layout.sliders[0].steps.length,
    rail: r ? {x: r.left, y: r.top, w: r.width, h: r.height} : null,
  };
})()"""


class CDPError(RuntimeError):
    """A DevTools command failed."""


class CDP:
    """A minimal Chrome DevTools Protocol client over one browser WebSocket."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # websocket-client, installed with jupyter_server

        self.ws = websocket.create_connection(ws_url, timeout=120, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for a while."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                self.events.append(json.loads(self.ws.recv()))
            except Exception:  # timeout: nothing more came
                break
        self.ws.settimeout(120)

    def wait_for(self, method: str, session: str, seconds: float) -> bool:
        """Pump events until ``method`` has come for ``session``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            seen = (
                e.get("method") == method and e.get("sessionId") == session for e in self.events
            )
            if any(seen):
                return True
            self.pump(0.2)
        return False

    def close(self) -> None:
        self.ws.close()


def find_chromium() -> str | None:
    """``$CHROMIUM``, else a Chromium or Chrome on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((path for name in names if (path := shutil.which(name))), None)


@contextlib.contextmanager
def chromium(binary: str) -> Iterator[CDP]:
    """Start headless Chromium on a free DevTools port and connect to it."""
    profile = tempfile.mkdtemp(prefix="zmic-chromium-")
    args = [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and len(port_file.read_text().splitlines()) == 2:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{binary} exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{binary} did not open a DevTools port in 30 s")
        port, path = port_file.read_text().splitlines()
        cdp = CDP(f"ws://127.0.0.1:{port}{path}")
        try:
            yield cdp
        finally:
            cdp.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """A static host as a reader meets one: text files gzip-compressed, as any web host does."""

    compressed: dict[Path, bytes] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        wants = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (wants and path.is_file() and path.suffix in GZIP_SUFFIXES):
            super().do_GET()
            return
        if path not in self.compressed:
            self.compressed[path] = gzip.compress(path.read_bytes(), compresslevel=6)
        data = self.compressed[path]
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_Handler, directory=str(root))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PageReport:
    """What one page did in the browser."""

    page: str
    kind: str
    bytes: int = 0  # decoded: what the browser holds (and what a file:// reader reads)
    transferred: int = 0  # over the wire from a gzip-compressing host
    requests: int = 0
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    first_paint_s: float | None = None
    slider: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


def _open_page(cdp: CDP, throttle: bool) -> str:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Network", "Page", "Runtime", "Log"):
        cdp.send(f"{domain}.enable", session=session)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)
    # a tab in the background may not paint (first paint would wait for it to be shown)
    cdp.send("Page.bringToFront", session=session)
    cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": True}, session=session)
    if throttle:
        conditions = {
            "offline": False,
            "latency": 20,
            "downloadThroughput": LINK_BYTES_PER_S,
            "uploadThroughput": LINK_BYTES_PER_S,
        }
        cdp.send("Network.emulateNetworkConditions", conditions, session=session)
    return session


def _evaluate(cdp: CDP, session: str, expression: str) -> Any:
    result = cdp.send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session=session,
    )
    if "exceptionDetails" in result:
        raise CDPError(str(result["exceptionDetails"]))
    return result["result"].get("value")


def _network(report: PageReport, events: list[dict[str, Any]], base: str) -> None:
    urls: dict[str, str] = {}
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if not url.startswith((base, "data:", "blob:", "about:")):
                report.external.append(url)
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            if params["response"]["url"].endswith("/favicon.ico"):  # asked by the browser
                continue
            report.failed.append(f"{params['response']['url']} ({params['response']['status']})")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = urls.get(params["requestId"], "?")
            if url.startswith(base):
                report.failed.append(f"{url} ({params.get('errorText')})")
        elif method == "Network.dataReceived" and urls.get(params["requestId"], "").startswith(
            base
        ):  # not blob: URLs, which a page makes in memory (anywidget's module)
            report.bytes += int(params.get("dataLength", 0))
        elif method == "Network.loadingFinished":
            report.transferred += int(params.get("encodedDataLength", 0))
            report.requests += 1


def _errors(report: PageReport, events: list[dict[str, Any]]) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            report.js_errors.append(str(text).splitlines()[0])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            report.js_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            if params["entry"].get("url", "").endswith("/favicon.ico"):  # asked by the browser
                continue
            report.js_errors.append(params["entry"].get("text", ""))


def _load(cdp: CDP, url: str, throttle: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Open ``url`` in a new tab and wait for its load event; a tab that hangs is retried once.

    A page that loads in well under a second can, rarely, never fire its load event in
    headless Chromium (one CI run: ``genindex.html``, 0.4 s on the rerun of the same build).
    One retry in a fresh tab tells that apart from a page that really does not load.
    """
    for attempt in range(2):
        cdp.events.clear()
        session = _open_page(cdp, throttle)
        cdp.send("Page.navigate", {"url": url}, session=session)
        if cdp.wait_for("Page.loadEventFired", session, LOAD_TIMEOUT_S):
            cdp.pump(SETTLE_S)
            return session, [e for e in cdp.events if e.get("sessionId") == session]
        _close(cdp, session)
        print(f"check_book: {url} did not load in {LOAD_TIMEOUT_S} s (attempt {attempt + 1})")
    raise CDPError(f"{url} did not finish loading in {LOAD_TIMEOUT_S} s, twice")


def _close(cdp: CDP, session: str) -> None:
    with contextlib.suppress(CDPError):
        cdp.send("Page.close", session=session)


def slider_check(cdp: CDP, session: str) -> dict[str, Any] | None:
    """Click the far end of the first plotly slider; did the shown slice change?"""
    before = _evaluate(cdp, session, SLIDER_STATE_JS)
    if not before or not before["rail"]:
        return before
    rail = before["rail"]
    frac = 0.02 if before["active"] > 0 else 0.98
    x, y = rail["x"] + rail["w"] * frac, rail["y"] + rail["h"] / 2
    after = before
    for _ in range(3):  # a busy machine may still be laying the page out
        for kind in ("mousePressed", "mouseReleased"):
            event = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            cdp.send("Input.dispatchMouseEvent", event, session=session)
        for _ in range(20):
            cdp.pump(0.1)
            after = _evaluate(cdp, session, SLIDER_STATE_JS)
            if after["visible"] != before["visible"]:
                break
        if after["visible"] != before["visible"]:
            break
    return {
        "steps": before["steps"],
        "active_before": before["active"],
        "active_after": after["active"],
        "visible_before": before["visible"],
        "visible_after": after["visible"],
        "changed": after["visible"] != before["visible"] and after["active"] != before["active"],
    }


def first_paint(cdp: CDP, url: str) -> float | None:
    """Seconds to the first contentful paint over a 10 Mbit/s link."""
    session, _ = _load(cdp, url, throttle=True)
    paints = _evaluate(
        cdp, session, "performance.getEntriesByType('paint').map(p => [p.name, p.startTime])"
    )
    _close(cdp, session)
    fcp = [t for name, t in paints or [] if name == "first-contentful-paint"]
    return fcp[0] / 1000 if fcp else None


def _content_problems(c: dict[str, Any], chapter: bool) -> list[str]:
    """What did not render, from the page's counts."""
    p = []
    if c["plotlyFigures"] != c["plotly"] or c["plotlyDrawn"] < c["plotly"]:
        p.append(f"plotly: {c['plotlyFigures']}/{c['plotly']} figures drawn")
    if c["brokenImages"]:
        p.append(f"{c['brokenImages']} of {c['images']} images not shown")
    if c["math"] and not c["mathTypeset"]:
        p.append(f"{c['math']} formulas, none typeset")
    if c["widgetViews"] and not c["widgetsShown"]:
        p.append(f"{c['widgetViews']} widgets, none shown")
    if c["anywidgets"] and not c["canvases"]:
        p.append("an anywidget (NiiVue) view without a canvas")
    if chapter and not c["outputFigures"]:
        p.append("a chapter page without any figure")
    return p


def judge(report: PageReport, chapter: bool) -> None:
    """Turn what was seen into problems (an empty list: the page passes)."""
    p = report.problems
    if report.external:
        p.append(f"external requests: {sorted(set(report.external))}")
    if report.failed:
        p.append(f"failed requests: {report.failed}")
    if report.js_errors:
        p.append(f"JavaScript errors: {report.js_errors}")
    p += _content_problems(report.counts, chapter)
    limit = PAGE_LIMITS[report.kind]
    if report.bytes > limit:
        p.append(f"weight {report.bytes / MB:.2f} MB > {limit / MB:.1f} MB")
    slow = report.first_paint_s is not None and report.first_paint_s > FIRST_PAINT_LIMIT_S
    if report.kind in TEXT_KINDS and slow:
        p.append(f"first paint {report.first_paint_s:.2f} s > {FIRST_PAINT_LIMIT_S} s at 10 Mbit/s")
    if report.slider is not None and not report.slider.get("changed"):
        p.append(f"plotly slider did not change the slice: {report.slider}")


def check_page(cdp: CDP, base: str, page: str, kind: str, chapter: bool) -> PageReport:
    """Load one page (``book/intro.html``) and check it."""
    report = PageReport(page=page, kind=kind)
    session, events = _load(cdp, base + page)
    report.counts = _evaluate(cdp, session, COUNTS_JS)
    if report.counts["plotly"]:
        report.slider = slider_check(cdp, session)  # None: no figure with a slider
    events = [e for e in cdp.events if e.get("sessionId") == session]
    _network(report, events, base)
    _errors(report, events)
    _close(cdp, session)
    if base.startswith("http"):
        report.first_paint_s = first_paint(cdp, base + page)
        if kind in TEXT_KINDS and (report.first_paint_s or 99) > FIRST_PAINT_LIMIT_S:
            # once more: on a loaded machine a page may wait for the CPU, not the network
            again = first_paint(cdp, base + page)
            report.first_paint_s = min(report.first_paint_s or 99, again or 99)
    judge(report, chapter)
    return report


def toc_pages(root: Path) -> list[tuple[str, str, bool]]:
    """(page html, kind, is a chapter): the search and index pages, every file of ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [(toc["root"], False)]

    def walk(entries: list[dict[str, Any]], chapter: bool) -> None:
        for entry in entries:
            pages.append((entry["file"], chapter))
            walk(entry.get("sections", []), chapter)

    for part in toc.get("parts", []):
        walk(part.get("chapters", []), part.get("caption") == "Chapters")
    result = [("search.html?q=mixture", "search", False), ("genindex.html", "text", False)]
    for name, chapter in pages:
        source = root / f"{name}.ipynb"
        notebook = source.is_file()
        # a NiiVue 3D view brings its 5 MB module and its volumes: the viewers' limit
        three_d = notebook and "view3d(" in source.read_text(encoding="utf-8")
        viewers = name.endswith("viewers") or three_d
        kind = "viewers" if viewers else "notebook" if notebook else "text"
        result.append((f"{name}.html", kind, chapter))
    return result


def check_book(html: Path, root: Path, binary: str) -> list[PageReport]:
    """Check every page of the table of contents in the built book under ``html``.

    Served over HTTP; the notebook pages are opened once more from ``file://`` (how
    ``make book`` tells a reader to open the book), where no first paint is measured.
    """
    reports = []
    pages = toc_pages(root)
    with serve(html) as base, chromium(binary) as cdp:
        for page, kind, chapter in pages:
            reports.append(check_page(cdp, base, page, kind, chapter))
        local = html.as_uri() + "/"
        for page, kind, chapter in pages:
            if kind not in TEXT_KINDS:
                report = check_page(cdp, local, page, kind, chapter)
                report.page = f"{page} (file://)"
                reports.append(report)
    return reports


def summary(reports: list[PageReport]) -> str:
    lines = []
    for r in reports:
        paint = f", first paint {r.first_paint_s:.2f} s" if r.first_paint_s is not None else ""
        slider = f", slider {r.slider['changed']}" if r.slider and "changed" in r.slider else ""
        status = "FAIL" if r.problems else "ok  "
        lines.append(
            f"{status} {r.page:28s} {r.bytes / MB:6.2f} MB ({r.transferred / MB:5.2f} MB gzip)"
            f" in {r.requests:3d} requests"
            f"{paint}{slider}"
        )
        lines += [f"       - {problem}" for problem in r.problems]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--json", type=Path, help="write the per-page report here")
    args = parser.parse_args()
    binary = find_chromium()
    if binary is None:
        print("check_book: no Chromium (set $CHROMIUM or apt-get install chromium)")
        return 2
    root = Path(__file__).resolve().parents[1]
    reports = check_book(args.html.resolve(), root, binary)
    print(summary(reports))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in reports], indent=1))
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())

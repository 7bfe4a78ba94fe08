"""The built book in headless Chromium, page by page (scripts/check_book.py).

The book is built once at the ``quick`` budget (rendering is what is tested here; the
notebooks' numbers are tested by nbval at ``standard``) into a temporary folder, or taken
from ``$ZMIC_BOOK_HTML`` when that names a built ``_build/html``. Skipped when no Chromium
is installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import check_book  # noqa: E402

BUILD_TIMEOUT_S = 1800

pytestmark = pytest.mark.skipif(
    check_book.find_chromium() is None,
    reason="no Chromium on this machine (apt-get install chromium, or set $CHROMIUM)",
)


def build_book(out: Path) -> tuple[Path, list[str]]:
    """``jupyter-book build --all`` at the quick budget into ``out``: the HTML folder and the
    build's warnings (Sphinx's and pybtex's, not the kernel's "WARNING |" log lines)."""
    pytest.importorskip("websocket", reason="websocket-client (installed with jupyter_server)")
    if not (ROOT / "_vendor" / "plotly.min.js").is_file():
        subprocess.run(["bash", "scripts/vendor_assets.sh"], cwd=ROOT, check=True)
    env = {**os.environ, "ZMIC_BUDGET": "quick", "ZMIC_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", "--all", ".", "--path-output", str(out)]
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    assert done.returncode == 0, f"book build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    lines = (done.stdout + done.stderr).splitlines()
    return out / "_build" / "html", [line for line in lines if "WARNING: " in line]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str] | None]:
    """The built HTML folder and the build's warnings (None: built elsewhere)."""
    given = os.environ.get("ZMIC_BOOK_HTML")
    if given:
        return Path(given).resolve(), None
    return build_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def html(built: tuple[Path, list[str] | None]) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def reports(html: Path) -> dict[str, check_book.PageReport]:
    found = check_book.check_book(html, ROOT, check_book.find_chromium())
    print("\n" + check_book.summary(found))
    return {r.page: r for r in found}


def test_book_builds_without_warnings(built: tuple[Path, list[str] | None]) -> None:
    """A warning is a reader-facing defect: a glued number or a citation that is missing."""
    warnings = built[1]
    if warnings is None:
        pytest.skip("book built elsewhere ($ZMIC_BOOK_HTML)")
    assert not warnings, f"{len(warnings)} build warnings:\n" + "\n".join(warnings[:20])


PAGES = [page for page, _, _ in check_book.toc_pages(ROOT)]


@pytest.mark.parametrize("page", PAGES)
def test_page_in_the_browser(reports: dict[str, check_book.PageReport], page: str) -> None:
    """No external or failed request, no JavaScript error, every figure drawn, light enough."""
    report = reports[page]
    assert not report.problems, f"{page}: " + "; ".join(report.problems)
    local = reports.get(f"{page} (file://)")
    if local is not None:  # opened from disk, as `make book` suggests
        assert not local.problems, f"{page} from file://: " + "; ".join(local.problems)


def test_a_plotly_slider_changes_the_slice(reports: dict[str, check_book.PageReport]) -> None:
    sliders = {page: r.slider for page, r in reports.items() if r.slider}
    assert sliders, "no page has a plotly figure with a slider"
    assert all(s["changed"] for s in sliders.values()), sliders


def test_text_pages_paint_fast_and_stay_light(reports: dict[str, check_book.PageReport]) -> None:
    text = [
        r
        for r in reports.values()
        if r.kind in check_book.TEXT_KINDS and r.first_paint_s is not None
    ]
    assert len(text) >= 3, [r.page for r in text]
    for r in text:
        assert r.first_paint_s <= check_book.FIRST_PAINT_LIMIT_S, (r.page, r.first_paint_s)
        assert r.bytes <= check_book.PAGE_LIMITS[r.kind], (r.page, r.bytes)


def test_references_page_links_every_entry(html: Path) -> None:
    """Every URL of book/bib/general.bib is a link on the references page."""
    bib = (ROOT / "book" / "bib" / "general.bib").read_text(encoding="utf-8")
    urls = re.findall(r"url\s*=\s*\{([^}]+)\}", bib)
    page = (html / "book" / "references.html").read_text(encoding="utf-8")
    missing = [u for u in urls if f'href="{u}"' not in page]
    assert urls and not missing, f"references.html lacks links to {missing}"

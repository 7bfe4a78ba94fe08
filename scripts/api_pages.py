"""Write the book's API reference pages (``book/api/*.md``) from the package's layout.

    python scripts/api_pages.py           # rewrite the pages
    python scripts/api_pages.py --check   # exit 1 if a page is out of date (tests run this)

One page per floor or chapter wing (``PAGES``); each lists every public module under it with
Sphinx autodoc (``automodule ... :members:``), so a new module appears without editing a page.
A package's ``__init__`` is shown by its docstring only: its names are re-exports, documented
where they are defined (documenting them twice is a duplicate-object warning, and the book's
build fails on any warning).
"""

from __future__ import annotations

import argparse
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "book" / "api"
PACKAGE = "zmic_lessons"

#: page name -> (title, what it is, the packages or modules it holds)
PAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "core": (
        "Core, networks and the command line",
        "The floor every chapter stands on: the shared trainer, metrics, settings, results, "
        "checkpoints and devices; the U-Net and spatial warps; the chapter registry and the "
        "`zmic-lessons` command.",
        ("core", "nn", "io", "chapters", "cli"),
    ),
    "data": (
        "Data: phantoms and real-data loaders",
        "The physics-based cardiac and left-atrial phantoms, scribbles and domains, and the "
        "loaders for the public data sets (MS-CMRSeg, MyoPS, ACDC, MM-WHS, LAScarQS).",
        ("data",),
    ),
    "viz": (
        "Viewers and figures",
        "Static plotly figures for the HTML book and live widgets for JupyterLab.",
        ("viz",),
    ),
    "mvmm": ("MvMM", "Chapter 1: joint segmentation and registration.", ("mvmm",)),
    "scribble": ("Scribble supervision", "Chapter 2: CycleMix.", ("scribble",)),
    "adaptation": (
        "Unsupervised domain adaptation",
        "Chapter 3: CF distance, CFDNet, VarDA.",
        ("adaptation",),
    ),
    "restoration": ("Restoration", "Chapter 4: RONet and BayeSR.", ("restoration",)),
    "atrial": (
        "Left atrium",
        "Chapter 5: AtrialGeneral and LAScarQS.",
        ("atrial",),
    ),
}


def public_modules() -> list[tuple[str, bool]]:
    """Every public module of the package, as (dotted name, is a package), sorted."""
    sys.path.insert(0, str(ROOT))
    import zmic_lessons

    found = [
        (m.name, m.ispkg)
        for m in pkgutil.walk_packages(zmic_lessons.__path__, PACKAGE + ".")
        if not any(part.startswith("_") for part in m.name.split("."))
    ]
    return sorted(found)


def _entry(name: str, is_package: bool) -> str:
    members = "" if is_package else "   :members:\n"
    return f"## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{members}```\n"


def page_text(page: str, modules: list[tuple[str, bool]]) -> str:
    """The Markdown of one API page."""
    title, about, roots = PAGES[page]
    prefixes = tuple(f"{PACKAGE}.{r}" for r in roots)
    mine = [
        (n, p)
        for n, p in modules
        if n in prefixes or n.startswith(tuple(x + "." for x in prefixes))
    ]
    head = f"# API: {title}\n\n<!-- written by scripts/api_pages.py; do not edit -->\n\n{about}\n"
    return head + "\n" + "\n".join(_entry(n, p) for n, p in mine)


def index_text() -> str:
    """The Markdown of the API index page."""
    rows = "\n".join(f"- {{doc}}`{page}`: {about}" for page, (_, about, _) in PAGES.items())
    return (
        "# API reference\n\n<!-- written by scripts/api_pages.py; do not edit -->\n\n"
        "Every public module of the `zmic_lessons` package, from its docstrings. A chapter "
        "imports its whole API in one line (`from zmic_lessons import mvmm`); the floors below "
        "the chapters (core, data, nn, viz) are shared by all of them.\n\n"
        f"{rows}\n"
    )


def expected() -> dict[Path, str]:
    """Every page's path and text."""
    modules = public_modules()
    shown = {n for p in PAGES for n in re.findall(r"automodule:: (\S+)", page_text(p, modules))}
    missing = sorted({n for n, _ in modules} - shown)
    if missing:
        raise SystemExit(f"modules on no API page (add their package to PAGES): {missing}")
    pages = {API / "index.md": index_text()}
    pages.update({API / f"{p}.md": page_text(p, modules) for p in PAGES})
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = parser.parse_args()
    stale = [p for p, text in expected().items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python scripts/api_pages.py")
        return 1 if stale else 0
    API.mkdir(parents=True, exist_ok=True)
    for p, text in expected().items():
        p.write_text(text)
    print(f"wrote {len(PAGES) + 1} pages in {API.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sphinx extension for the course book: each page loads only the front-end files it uses.

Loaded by Jupyter Book through ``sphinx.local_extensions`` in ``_config.yml``. At the
``html-page-context`` event of every page it

1. drops repeated inline scripts: sphinx-thebe's ``const THEBE_JS_URL = ...`` and
   sphinx-togglebutton's selector are put in the page's script list twice (once with the
   file name ``None`` when the extension adds them, once with ``""`` when the builder re-reads
   its registry, so Sphinx's duplicate check misses them); a second ``const`` declaration is
   a ``SyntaxError`` on every page;
2. loads plotly.js (4.8 MB) only on pages with a plotly figure, deferred, and makes the
   figures' inline ``Plotly.newPlot`` scripts wait for ``DOMContentLoaded`` (deferred scripts
   run before it), so the text paints before plotly.js has arrived;
3. keeps the widget embedder (require.js, widgets-local.js, embed-amd.js: 3.6 MB) and the
   widget state only on pages that show a widget (a page whose notebook merely created one,
   such as a progress bar whose output was cleared, has state but no view), deferred, and
   moves the state from ``<head>`` to the end of ``<body>`` so that it no longer holds back the
   first paint. An anywidget's JavaScript module (``_esm``: ipyniivue's NiiVue bundle is 5 MB,
   the volume it shows 0.1 MB) moves out of the state into ``_static/anywidget-esm/<hash>.js``,
   a deferred script that puts it back before the embedder reads the state: the page's HTML
   shrinks by that much and the module is cached across pages and visits (it works from
   ``file://`` too, where a module cannot be imported from a file);
4. (at config-inited) takes the bibliography files from ``bibtex_bibfiles`` that exist, plus
   every other ``book/bib/*.bib``, so that a chapter's .bib file may appear or be missing;
   a key defined twice is taken from the first file that has it (general.bib is listed last),
   the later file is read from a copy without that entry;
5. gives the theme a valid colour mode: pydata-sphinx-theme reads ``default_mode`` from the
   page context and logs ``Got invalid theme mode`` (a console error) on a reader's first page
   when Jupyter Book leaves it empty. The book is light (its figures are drawn on white).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

PLOTLY_JS = "plotly.min.js"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The inline script that plotly.io.to_html(include_plotlyjs=False) writes after each figure.
ESM_MIN_CHARS = 100_000  # smaller modules stay in the state
ESM_MARK = "zmic-esm:"
# Classic script (file:// safe): put module KEY back into the widget state scripts.
ESM_LOADER = """(function () {
  var mark = JSON.stringify("%(mark)s"), value = JSON.stringify(%(code)s);
  var states = document.querySelectorAll('script[type="%(state)s"]');
  for (var i = 0; i < states.length; i++) {
    if (states[i].textContent.indexOf(mark) >= 0) {
      states[i].textContent = states[i].textContent.split(mark).join(value);
    }
  }
})();
"""
PLOTLY_INLINE = re.compile(r"(<script[^>]*>)(\s*window\.PLOTLYENV=.*?)(</script>)", re.S)


def _key(js: Any) -> tuple[str, str]:
    attrs = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", None) or "", attrs.get("body", ""))


def _widget_files(app: Sphinx) -> set[str]:
    return {f"_static/{name}" for name in app.config.nb_ipywidgets_js}


def dedupe(scripts: list[Any]) -> list[Any]:
    """The scripts in order, each (file name, inline body) once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for js in scripts:
        if _key(js) not in seen:
            seen.add(_key(js))
            kept.append(js)
    return kept


def defer_plotly_calls(body: str) -> str:
    """Run each figure's ``Plotly.newPlot`` once the deferred plotly.js has loaded."""
    return PLOTLY_INLINE.sub(
        r'\1window.addEventListener("DOMContentLoaded", function () {\2});\3', body
    )


def _split_widgets(app: Sphinx, scripts: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """(other scripts, widget state scripts, widget library scripts)."""
    libraries = _widget_files(app)
    other, state, library = [], [], []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        if attrs.get("type") == WIDGET_STATE:
            state.append(js)
        elif (getattr(js, "filename", None) or "") in libraries:
            library.append(js)
        else:
            other.append(js)
    return other, state, library


def _attributes(js: Any, defer: bool = False) -> dict[str, Any]:
    attrs = dict(getattr(js, "attributes", {}) or {})
    if defer:
        attrs["defer"] = "defer"
    return attrs


def externalise_modules(outdir: Path, state_json: str) -> tuple[str, list[str]]:
    """Move large anywidget modules out of a widget state into ``_static`` files.

    Returns the new state (JSON, safe inside ``<script>``) and the files' paths under
    ``_static`` (each file restores its module into the state when it runs).
    """
    state = json.loads(state_json)
    files = []
    for model in state.get("state", {}).values():
        esm = model.get("state", {}).get("_esm")
        if not (isinstance(esm, str) and len(esm) >= ESM_MIN_CHARS):
            continue
        digest = hashlib.sha256(esm.encode("utf-8")).hexdigest()[:16]
        name = f"anywidget-esm/{digest}.js"
        path = outdir / "_static" / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            values = {"mark": ESM_MARK + digest, "code": json.dumps(esm), "state": WIDGET_STATE}
            path.write_text(ESM_LOADER % values, encoding="utf-8")
        model["state"]["_esm"] = ESM_MARK + digest
        files.append(name)
    return json.dumps(state).replace("</", "<\\/").replace("<!--", "<\\u0021--"), files


def page_assets(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Rewrite one page's script list and body (see the module docstring)."""
    # pydata-sphinx-theme reads the colour mode from the page context (html_context)
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts = context.get("script_files")  # the builder's list for this page, reset after it
    if not isinstance(scripts, list):
        return
    body = context.get("body")
    if not isinstance(body, str):  # search, genindex: pages without a document body
        scripts[:] = dedupe(scripts)
        return
    other, state, libraries = _split_widgets(app, dedupe(scripts))
    scripts[:] = other
    if state and WIDGET_VIEW in body:
        for js in libraries:
            name = js.filename.removeprefix("_static/")
            app.builder.add_js_file(name, **_attributes(js, defer=True))
        # the embedder reads every state script in the document once the page has loaded
        for js in state:
            text, modules = externalise_modules(Path(app.outdir), _attributes(js)["body"])
            for name in modules:  # deferred, before the embedder (priority 500)
                app.builder.add_js_file(name, priority=450, defer="defer")
            body += f'<script type="{WIDGET_STATE}">{text}</script>'
    if "plotly-graph-div" in body:
        # before require.js (priority 500): plotly.js registers as an AMD module instead of
        # defining window.Plotly when it runs after require.js
        app.builder.add_js_file(PLOTLY_JS, priority=450, defer="defer")
        body = defer_plotly_calls(body)
    context["body"] = body


BIB_KEY = re.compile(r"^@\w+\s*\{\s*([^,\s]+)\s*,", re.M)


def without_repeated_keys(files: list[Path], out: Path) -> list[Path]:
    """The .bib files with each key kept in the first file that has it.

    A file that repeats an earlier key is rewritten into ``out`` without that entry (an
    entry starts with ``@`` at the beginning of a line), so pybtex sees every key once.
    """
    seen: set[str] = set()
    result = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        chunks = re.split(r"(?m)^(?=@)", text)
        keep = [c for c in chunks if not ((m := BIB_KEY.match(c)) and m.group(1) in seen)]
        seen.update(BIB_KEY.findall(text))
        if len(keep) == len(chunks):
            result.append(path)
            continue
        out.mkdir(parents=True, exist_ok=True)
        (out / path.name).write_text("".join(keep), encoding="utf-8")
        result.append(out / path.name)
    return result


def bibliography_files(app: Sphinx, config: Any) -> None:
    """``bibtex_bibfiles``: the listed files that exist, then any other book/bib/*.bib.

    A key defined in two files is taken from the first (general.bib is listed last).
    """
    listed = getattr(config, "bibtex_bibfiles", None)
    if listed is None:  # sphinxcontrib-bibtex not loaded
        return
    root = Path(app.confdir)
    present = [name for name in listed if (root / name).is_file()]
    found = sorted(p.relative_to(root).as_posix() for p in root.glob("book/bib/*.bib"))
    names = present + [name for name in found if name not in present]
    files = without_repeated_keys([root / n for n in names], Path(app.doctreedir) / "bib")
    config.bibtex_bibfiles = [
        p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in files
    ]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", bibliography_files)
    # after myst-nb (priority 500), which adds each notebook page's widget files
    app.connect("html-page-context", page_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

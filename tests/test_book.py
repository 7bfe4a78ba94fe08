"""Static checks of the Jupyter Book: table of contents, offline config, notebook hygiene."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
URL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"']*", re.IGNORECASE)
# The only external addresses the config may name: links the reader clicks, never fetched.
LINK_KEYS = {
    ("repository", "url"),
    ("launch_buttons", "binderhub_url"),
    ("launch_buttons", "colab_url"),
}


def load_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def toc_files(node: Any) -> list[str]:
    """Every ``file:`` and ``root:`` entry of a jb-book table of contents."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(toc_files(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(toc_files(item))
    return found


def walk(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """All string leaves of a YAML tree with their key path."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in walk(v, (*path, str(k)))]
    if isinstance(node, list):
        return [leaf for v in node for leaf in walk(v, path)]
    return [(path, node)] if isinstance(node, str) else []


def notebooks() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


def test_toc_entries_exist() -> None:
    toc = load_yaml("_toc.yml")
    assert toc["format"] == "jb-book"
    entries = toc_files(toc)
    assert entries[0] == "book/intro" and "book/viewers" in entries
    missing = [
        e for e in entries if not any((ROOT / f"{e}{ext}").is_file() for ext in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"
    assert len(entries) == len(set(entries)), "a file is listed twice in _toc.yml"


def test_every_book_page_is_in_the_toc() -> None:
    entries = set(toc_files(load_yaml("_toc.yml")))
    pages = {f"book/{p.stem}" for p in BOOK.iterdir() if p.suffix in (".md", ".ipynb")}
    assert not pages - entries, f"pages not in _toc.yml (never built): {sorted(pages - entries)}"


def test_config_makes_no_external_requests() -> None:
    config = load_yaml("_config.yml")
    for path, value in walk(config):
        if path[:2] in LINK_KEYS:
            continue
        assert not URL.search(value), f"_config.yml {'.'.join(path)} names a URL: {value!r}"
    sphinx = config["sphinx"]["config"]
    assert sphinx["html_static_path"] == ["_vendor"]  # not _static: JB1 would load it all
    assert sphinx["mathjax_path"] == "mathjax/tex-chtml.js"
    assert list(sphinx["nb_ipywidgets_js"]) == [
        "require.js",
        "widgets-local.js",
        "widgets/embed-amd.js",
    ]
    # plotly.js and the widget embedder load only where a page uses them (scripts/zmic_book_ext.py)
    assert "plotly.min.js" not in sphinx.get("html_js_files", [])
    assert config["sphinx"]["local_extensions"] == {"zmic_book_ext": "scripts"}
    # the raw text too, comments included
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    for bad in ("cdn.", "jsdelivr", "unpkg", "cdnjs", "googleapis"):
        assert bad not in text.lower(), f"_config.yml mentions {bad}"


def test_config_execution_and_exclusions() -> None:
    config = load_yaml("_config.yml")
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["execute"]["timeout"] >= 1200
    excluded = set(config["exclude_patterns"])
    assert {"_build", "node_modules", "_vendor", ".venv", "README.md", "tests"} <= excluded


def test_launch_buttons_and_repository() -> None:
    config = load_yaml("_config.yml")
    launch = config["launch_buttons"]
    assert launch["notebook_interface"] == "jupyterlab"  # the default "classic" is wrong for JL4
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"].startswith("https://colab.research.google.com")
    repo = config["repository"]
    assert repo["url"].startswith("https://github.com/") and repo["branch"] == "main"
    assert config["html"]["use_repository_button"] is True
    # repo2docker ignores root-level environment.yml when a binder/ folder exists
    assert not (ROOT / "binder").exists()


def test_vendored_assets_are_what_the_config_loads() -> None:
    """The vendoring script writes every file the config points at (checked if it has run)."""
    sphinx = load_yaml("_config.yml")["sphinx"]["config"]
    wanted = [
        *sphinx["nb_ipywidgets_js"],
        sphinx["mathjax_path"],
        "plotly.min.js",
        "anywidget/index.js",
    ]
    script = (ROOT / "scripts" / "vendor_assets.sh").read_text(encoding="utf-8")
    assert (ROOT / "_vendor_src" / "widgets-local.js").is_file()
    for name in wanted:
        assert Path(name).name in script, f"scripts/vendor_assets.sh never writes {name}"
    vendor = ROOT / "_vendor"
    if not vendor.is_dir():
        pytest.skip("_vendor/ not built (run bash scripts/vendor_assets.sh)")
    missing = [name for name in wanted if not (vendor / name).is_file()]
    assert not missing, f"_vendor/ lacks {missing}; rerun bash scripts/vendor_assets.sh"


def test_npm_lockfile_pins_the_front_end() -> None:
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    deps = package["dependencies"]
    assert set(deps) == {"@jupyter-widgets/html-manager", "anywidget", "mathjax", "requirejs"}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in deps.values()), deps
    for name, version in deps.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean_with_one_parameters_cell(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    with_outputs = [i for i, c in enumerate(code) if c.get("outputs")]
    assert not with_outputs, f"{path.name}: code cells {with_outputs} have stored outputs"
    counted = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
    assert not counted, f"{path.name}: code cells {counted} have execution counts"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: {len(params)} cells tagged 'parameters', expected 1"
    source = "".join(params[0]["source"])
    for name in ("BUDGET", "DEVICE", "SEED"):
        assert re.search(rf"^{name}\s*=", source, re.M), f"{path.name}: parameters lack {name}"
    assert "budget_from_env" in source, f"{path.name}: BUDGET should come from budget_from_env()"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


def test_bibliography_files_tolerate_missing_new_and_repeated(tmp_path: Path) -> None:
    """A listed .bib that is missing is skipped, an unlisted book/bib/*.bib is added, and a
    key that general.bib repeats from a chapter's file is read from the chapter's."""
    ext = _extension()
    bib = tmp_path / "book" / "bib"
    bib.mkdir(parents=True)
    entry = "@misc{{{key},\n  title = {{{title}}},\n}}\n\n"
    (bib / "mvmm.bib").write_text(entry.format(key="a", title="chapter"), encoding="utf-8")
    general = (
        "% header\n" + entry.format(key="a", title="general") + entry.format(key="b", title="b")
    )
    (bib / "general.bib").write_text(general, encoding="utf-8")
    (bib / "newchapter.bib").write_text("", encoding="utf-8")
    listed = ["book/bib/mvmm.bib", "book/bib/absent.bib", "book/bib/general.bib"]
    config = type("Config", (), {"bibtex_bibfiles": listed})()
    app = type("App", (), {"confdir": str(tmp_path), "doctreedir": str(tmp_path / "_dt")})()
    ext.bibliography_files(app, config)
    assert config.bibtex_bibfiles == [
        "book/bib/mvmm.bib",
        "_dt/bib/general.bib",
        "book/bib/newchapter.bib",
    ]
    kept = (tmp_path / "_dt" / "bib" / "general.bib").read_text(encoding="utf-8")
    assert ext.BIB_KEY.findall(kept) == ["b"] and kept.startswith("% header")


def test_bibliography_config_and_references_page() -> None:
    config = load_yaml("_config.yml")
    files = config["bibtex_bibfiles"]
    assert files[-1] == "book/bib/general.bib"  # a chapter's entry wins over general's
    chapters = {"mvmm", "scribble", "adaptation", "restoration", "atrial"}
    assert {f"book/bib/{c}.bib" for c in chapters} <= set(files)
    assert "book/references" in toc_files(load_yaml("_toc.yml"))
    text = (BOOK / "references.md").read_text(encoding="utf-8")
    assert text.count("{bibliography}") == 3
    intro = (BOOK / "intro.md").read_text(encoding="utf-8")
    assert "<repository URL>" not in intro and "{doc}`references`" in intro


def test_general_bib_links_code_and_challenges() -> None:
    """The authors' repositories and every challenge page are in general.bib, each a URL."""
    bib = (BOOK / "bib" / "general.bib").read_text(encoding="utf-8")
    urls = re.findall(r"url\s*=\s*\{([^}]+)\}", bib)
    assert all(u.startswith("https://") for u in urls), urls
    for repo in (
        "xzluo97/MvMM-Demo",
        "BWGZK/CycleMix",
        "FupingWu90/CFDnet",
        "FupingWu90/VarDA",
        "Endless-Hao/DDFSeg",
        "shangqigao/RONet",
        "shangqigao/BayeSR",
        "lileitech/AtrialGeneral",
    ):
        assert f"https://github.com/{repo}" in urls, repo
    for page in ("mscmrseg19", "myops20", "mmwhs", "Challenge/acdc", "lascarqs22"):
        assert any(page in u for u in urls), page
    real_data = (BOOK / "real_data.md").read_text(encoding="utf-8")
    assert all(
        any(page in u for u in re.findall(r"\]\((https://[^)]+)\)", real_data))
        for page in ("mscmrseg19", "myops20", "mmwhs", "Challenge/acdc", "lascarqs22")
    )


def _extension() -> Any:
    import importlib.util

    pytest.importorskip("sphinx")
    spec = importlib.util.spec_from_file_location(
        "zmic_book_ext", ROOT / "scripts" / "zmic_book_ext.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_assets_defer_plotly_and_dedupe_scripts() -> None:
    ext = _extension()
    body = '<div class="plotly-graph-div"></div>'
    body += '<script>  window.PLOTLYENV=1; Plotly.newPlot("a")</script>'
    out = ext.defer_plotly_calls(body)
    assert 'addEventListener("DOMContentLoaded", function () {  window.PLOTLYENV=1;' in out
    assert out.endswith("});</script>")
    js = type("JS", (), {})
    a, b, c = js(), js(), js()
    a.filename, a.attributes = None, {"body": "const THEBE_JS_URL = 1"}
    b.filename, b.attributes = "", {"body": "const THEBE_JS_URL = 1"}  # the registry's copy
    c.filename, c.attributes = "_static/x.js", {}
    assert ext.dedupe([a, c, b]) == [a, c]


def test_anywidget_module_moves_out_of_the_widget_state(tmp_path: Path) -> None:
    ext = _extension()
    esm = "export default {render() {}}; // </script> " + "x" * ext.ESM_MIN_CHARS
    state = {
        "version_major": 2,
        "state": {
            "a": {"model_module": "anywidget", "state": {"_esm": esm}},
            "b": {"state": {"_esm": "small"}},
        },
    }
    text, files = ext.externalise_modules(tmp_path, json.dumps(state))
    assert len(files) == 1 and "</script>" not in text
    kept = json.loads(text)["state"]
    assert kept["a"]["state"]["_esm"].startswith(ext.ESM_MARK)
    assert kept["b"]["state"]["_esm"] == "small"
    loader = (tmp_path / "_static" / files[0]).read_text(encoding="utf-8")
    assert json.dumps(esm) in loader and kept["a"]["state"]["_esm"] in loader

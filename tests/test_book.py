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
    assert "plotly.min.js" in sphinx["html_js_files"]
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
        *sphinx["html_js_files"],
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

"""The API reference pages: up to date, every public module on exactly one page, in the toc."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _api_pages():
    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "scripts" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_pages_are_up_to_date() -> None:
    stale = [
        str(p.relative_to(ROOT))
        for p, text in _api_pages().expected().items()
        if not p.is_file() or p.read_text() != text
    ]
    assert not stale, f"out of date (run python scripts/api_pages.py): {stale}"


def test_every_public_module_is_documented_once() -> None:
    api = _api_pages()
    shown = [
        name
        for page in api.PAGES
        for name in re.findall(
            r"automodule:: (\S+)", (ROOT / "book" / "api" / f"{page}.md").read_text()
        )
    ]
    assert len(shown) == len(set(shown)), "a module is on two API pages"
    assert set(shown) == {name for name, _ in api.public_modules()}


def test_api_pages_are_in_the_toc() -> None:
    text = yaml.safe_dump(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    for page in ["index", *_api_pages().PAGES]:
        assert f"book/api/{page}" in text, f"book/api/{page} is not in _toc.yml"


def test_config_loads_autodoc() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon"} <= set(config["extra_extensions"])

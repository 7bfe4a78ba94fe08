"""The package's floors: imports run downwards only (see the design sketch)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zmic_lessons.chapters import CHAPTERS

PACKAGE = Path(__file__).resolve().parents[1] / "zmic_lessons"
CHAPTER_WINGS = set(CHAPTERS)
# What each part may import from the package (besides itself).
ALLOWED = {
    "core": set(),
    "nn": {"core"},
    "io": set(),
    "viz": {"core"},
    "data": {"core", "io"},
    "chapters": {"core"},
    "cli": {"chapters", "core", "data"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel.parts[:-1])[: len(rel.parts) - node.level]
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x"
                    target = [alias.name for alias in node.names]
            elif node.module and node.module.startswith("zmic_lessons"):
                target = node.module.split(".")[1:] or [a.name for a in node.names]
            else:
                continue
            if target:
                found.add(target[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("zmic_lessons."):
                    found.add(alias.name.split(".")[1])
    return found - {_part(path)}


FILES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_downwards(path):
    part = _part(path)
    imported = _imported_parts(path)
    if part in CHAPTER_WINGS:
        allowed = {"core", "nn", "data", "io", "viz"}
    else:
        allowed = ALLOWED.get(part, set())
    assert imported <= allowed, f"{path.relative_to(PACKAGE)} imports {sorted(imported - allowed)}"

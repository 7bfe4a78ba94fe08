"""The chapter registry: name -> ``run(budget, device, seed, data, out) -> Results``.

A chapter lives in ``zmic_lessons/<name>/chapter.py`` and exposes ``TITLE``, ``Settings`` (its
typed settings dataclass, see :mod:`.core.settings`) and ``run``. The registry imports it only
when asked, so the CLI knows chapters by name alone and adding a chapter touches no other
chapter. The skeleton a chapter follows is written down in ``CONTRIBUTING.md``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core.budget import check_budget
from .core.device import DeviceLike, get_device
from .core.results import Results
from .core.seed import seed_everything

#: Chapter name -> module, in the order of the talk.
CHAPTERS: dict[str, str] = {
    "mvmm": "zmic_lessons.mvmm.chapter",
    "scribble": "zmic_lessons.scribble.chapter",
    "adaptation": "zmic_lessons.adaptation.chapter",
    "restoration": "zmic_lessons.restoration.chapter",
    "atrial": "zmic_lessons.atrial.chapter",
}


class ChapterNotAvailable(LookupError):
    """Raised for an unknown chapter name or one whose module is not written yet."""


@dataclass(frozen=True)
class Chapter:
    """A loaded chapter.

    Attributes:
        name: Registry name, e.g. ``"mvmm"``.
        title: One-line title.
        run: ``run(budget, device, seed, data, out, **overrides) -> Results``.
        settings: The chapter's ``Settings`` dataclass (``None`` if it has none).
    """

    name: str
    title: str
    run: Callable[..., Results]
    settings: type | None = None


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available_chapters() -> list[str]:
    """Names of the chapters whose module is present, in the order of the talk."""
    return [name for name, module in CHAPTERS.items() if _module_exists(module)]


def get_chapter(name: str) -> Chapter:
    """Load a chapter by name.

    Raises:
        ChapterNotAvailable: The name is unknown or its module is not present; the message
            lists the available chapters.
    """
    available = available_chapters()
    if name not in CHAPTERS:
        raise ChapterNotAvailable(
            f"unknown chapter {name!r}; available: {', '.join(available) or 'none'}"
        )
    if name not in available:
        raise ChapterNotAvailable(
            f"chapter {name!r} is planned but not available in this version; "
            f"available: {', '.join(available) or 'none'}"
        )
    module = importlib.import_module(CHAPTERS[name])
    return Chapter(
        name=name,
        title=getattr(module, "TITLE", name),
        run=module.run,
        settings=getattr(module, "Settings", None),
    )


def run_chapter(
    name: str,
    /,
    budget: str = "standard",
    device: DeviceLike = "auto",
    seed: int = 0,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    **overrides: Any,
) -> Results:
    """Run a chapter's experiments: the one code path behind the CLI and the notebooks.

    Args:
        name: Chapter name (see :data:`CHAPTERS`).
        budget: ``quick``, ``standard`` or ``full``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        seed: Seed for data generation, initialisation and training.
        data: Folder with the real data set; ``None`` uses the synthetic phantom.
        out: If given, ``results.json`` (and any checkpoints) are written there.
        **overrides: Budget settings to override (e.g. ``steps=2``).

    Returns:
        The chapter's :class:`Results`, with ``timing_s["total"]`` filled in.
    """
    chapter = get_chapter(name)
    check_budget(budget)
    torch_device = get_device(device)
    data_path = Path(data) if data is not None else None
    if data_path is not None and not data_path.exists():
        raise FileNotFoundError(f"data folder {data_path} does not exist")
    out_path = Path(out) if out is not None else None
    seed_everything(seed)
    start = time.perf_counter()
    results = chapter.run(
        budget=budget, device=torch_device, seed=seed, data=data_path, out=out_path, **overrides
    )
    results.timing_s["total"] = time.perf_counter() - start
    if results.data is None and data_path is not None:
        results.data = str(data_path)
    if out_path is not None:
        results.save(out_path)
    return results

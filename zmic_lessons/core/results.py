"""Chapter results: metrics, timings and versions, written as ``results.json``."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .settings import settings_dict

_VERSIONED = ("zmic-lessons", "torch", "numpy", "scipy", "nibabel", "scikit-image")


def collect_versions() -> dict[str, str]:
    """Versions of Python and the main packages, for reproducibility."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Results:
    """What a chapter run returns.

    Attributes:
        chapter: Chapter name, e.g. ``"mvmm"``.
        budget: ``quick``, ``standard`` or ``full``.
        device: The device the run used, e.g. ``"cpu"``.
        seed: The seed.
        metrics: Scalar results by name (Dice, PSNR, ...).
        timing_s: Wall-clock seconds by stage.
        versions: Package versions.
        artifacts: The chapter's typed ``Artifacts`` dataclass (arrays, histories, models for
            the notebook's figures); not written to JSON.
        settings: The chapter's ``Settings`` the run used (written to JSON, so a result says
            exactly how it was made).
        data: The real data folder, or ``None`` for the phantom.
    """

    chapter: str
    budget: str
    device: str
    seed: int
    metrics: dict[str, float] = field(default_factory=dict)
    timing_s: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=collect_versions)
    artifacts: Any = field(default_factory=dict, repr=False)
    settings: Any = field(default=None, repr=False)
    data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable part (everything except ``artifacts``)."""
        return {
            "chapter": self.chapter,
            "budget": self.budget,
            "device": self.device,
            "seed": self.seed,
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "timing_s": {k: round(float(v), 3) for k, v in self.timing_s.items()},
            "versions": dict(self.versions),
            "settings": settings_dict(self.settings),
            "data": None if self.data is None else str(self.data),
        }

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write ``out_dir/results.json`` atomically and return its path.

        The JSON is written to a temporary file in ``out_dir`` and renamed over
        ``results.json``: an interruption leaves the previous file (or none) and no temporary
        file. Whether an existing ``results.json`` may be replaced is decided before the run
        (:func:`zmic_lessons.chapters.run_chapter`), not here.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        return atomic_write_text(path, text)

    def table(self) -> str:
        """Metrics and timings as an aligned plain-text table."""
        rows = [(k, _fmt(v)) for k, v in self.metrics.items()]
        rows += [(f"time[{k}] (s)", f"{v:.1f}") for k, v in self.timing_s.items()]
        width = max((len(k) for k, _ in rows), default=6)
        lines = [f"{self.chapter} | budget={self.budget} | device={self.device} | seed={self.seed}"]
        lines += [f"  {k:<{width}}  {v}" for k, v in rows]
        return "\n".join(lines)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Context manager adding the wall time of a block to ``timing_s[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timing_s[stage] = self.timing_s.get(stage, 0.0) + time.perf_counter() - start


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    An interruption leaves ``path`` as it was (or absent) and removes the temporary file.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``results.json`` (or the folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.exists():
        raise FileNotFoundError(f"no results file at {p}")
    return json.loads(p.read_text())


def _jsonable(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _fmt(value: Any) -> str:
    value = float(value)
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"

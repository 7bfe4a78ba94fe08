"""The chapter registry: name -> ``run(budget, device, seed, data, out) -> Results``.

A chapter lives in ``zmic_lessons/<name>/chapter.py`` and exposes ``TITLE``, ``Settings`` (its
typed settings dataclass, see :mod:`.core.settings`) and ``run``. The registry imports it only
when asked, so the CLI knows chapters by name alone and adding a chapter touches no other
chapter. The skeleton a chapter follows is written down in ``CONTRIBUTING.md``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core.budget import check_budget
from .core.device import DeviceLike, get_device
from .core.results import Results, atomic_write_text
from .core.seed import seed_everything

#: Chapter name -> module, in the order of the talk.
CHAPTERS: dict[str, str] = {
    "mvmm": "zmic_lessons.mvmm.chapter",
    "scribble": "zmic_lessons.scribble.chapter",
    "adaptation": "zmic_lessons.adaptation.chapter",
    "restoration": "zmic_lessons.restoration.chapter",
    "atrial": "zmic_lessons.atrial.chapter",
}


#: Commands a chapter adds to the CLI: command -> (chapter, function exported by its package).
TOOLS: dict[str, tuple[str, str]] = {
    "restore": ("restoration", "restore_file"),
    "evaluate-scar": ("atrial", "evaluate_scar_files"),
}


def get_tool(command: str) -> Callable[..., Any]:
    """The function behind a chapter's CLI command (see :data:`TOOLS`), imported when asked.

    Raises:
        ChapterNotAvailable: The command is unknown or its chapter is not in this version.
    """
    if command not in TOOLS:
        raise ChapterNotAvailable(f"unknown command {command!r}; known: {', '.join(TOOLS)}")
    chapter, function = TOOLS[command]
    get_chapter(chapter)  # a clear message if the chapter is missing
    return getattr(importlib.import_module(f"zmic_lessons.{chapter}"), function)


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


RESULTS_NAME = "results.json"
RUN_NAME = "run.json"
INTERRUPTED_NAME = "interrupted.json"
CHECKPOINTS = "checkpoints"


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def _probe_writable(folder: Path) -> None:
    probe = folder / f".zmic-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(
            f"output folder {folder} is not writable ({type(err).__name__}: {err}); "
            "choose another --out"
        ) from err


def prepare_out(out: str | os.PathLike, *, resume: bool = False, force: bool = False) -> Path:
    """Check and create the output folder of a run, before any compute is spent.

    Rules (the CLI's ``--force`` and ``--resume`` map to ``force`` and ``resume``):

    * ``out`` must be a non-empty path to a folder (created if absent) that can be written;
      a file, an empty string or a read-only folder is refused.
    * An existing ``results.json`` is never replaced silently: refused unless ``force`` (start
      again and replace it) or ``resume`` (continue that run; its results are rewritten).
    * Existing checkpoints (``out/checkpoints/``) without ``resume`` are refused: ``resume``
      continues from them, ``force`` deletes them and starts clean.

    Returns:
        ``out`` as a ``Path`` (the folder exists afterwards).

    Raises:
        ValueError: Empty path, a file, not writable.
        FileExistsError: ``results.json`` or checkpoints exist and neither flag allows it.
    """
    if not str(out).strip():
        raise ValueError("the output folder is an empty path; give a folder, e.g. results/mvmm")
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output folder {path} is a file, not a folder; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the output folder {path}: {err}") from err
    _probe_writable(path)
    if (path / RESULTS_NAME).exists() and not (force or resume):
        raise FileExistsError(
            f"{path / RESULTS_NAME} exists (an earlier run); it is not replaced: choose a new "
            "--out, pass --force to run again and replace it, or --resume to continue that run"
        )
    checkpoints = path / CHECKPOINTS
    if _has_files(checkpoints) and not resume:
        if not force:
            raise FileExistsError(
                f"{checkpoints} holds checkpoints of an earlier run: pass --resume to continue "
                "it, or --force to delete them and start clean"
            )
        shutil.rmtree(checkpoints)
    return path


def _run_record(name: str, budget: str, seed: int, data: Path | None, overrides: dict) -> dict:
    record = {
        "chapter": name,
        "budget": budget,
        "seed": seed,
        "data": None if data is None else str(data),
        "overrides": overrides,
    }
    return json.loads(json.dumps(record, default=str))


def _check_resume_record(path: Path, record: dict) -> None:
    """Refuse to resume a run started with other options (its checkpoints would not match)."""
    run_file = path / RUN_NAME
    if run_file.is_file():
        before = json.loads(run_file.read_text())
        differ = sorted(k for k in record if before.get(k) != record[k])
        if differ:
            was = ", ".join(f"{k}={before.get(k)!r}" for k in differ)
            now = ", ".join(f"{k}={record[k]!r}" for k in differ)
            raise ValueError(
                f"cannot resume the run in {path}: it was started with {was}, this run asks "
                f"{now}; resume with the same options, or drop --resume and pass --force to "
                "start clean"
            )


def _write_record(path: Path, record: dict) -> None:
    atomic_write_text(path / RUN_NAME, json.dumps(record, indent=2) + "\n")


def saved_checkpoints(out: Path) -> list[Path]:
    """The checkpoint files under ``out/checkpoints/`` (one folder per model), sorted."""
    return sorted(p for p in (out / CHECKPOINTS).rglob("*.pt") if p.is_file())


def _write_interrupted(out: Path, elapsed_s: float) -> None:
    """``out/interrupted.json``: when the run stopped and which checkpoints it left."""
    note = {
        "interrupted_after_s": round(elapsed_s, 1),
        "checkpoints": [str(p.relative_to(out)) for p in saved_checkpoints(out)],
        "resume": "run again with the same options and resume=True (CLI: --resume)",
    }
    atomic_write_text(out / INTERRUPTED_NAME, json.dumps(note, indent=2) + "\n")


def _accepts_resume(run: Callable[..., Results]) -> bool:
    try:
        return "resume" in inspect.signature(run).parameters
    except (TypeError, ValueError):
        return False


def can_resume(name: str) -> bool:
    """Whether a chapter's ``run`` takes ``resume`` (see :func:`run_chapter`'s contract)."""
    return _accepts_resume(get_chapter(name).run)


def _resume_argument(chapter: Chapter, resume: bool, out: Any) -> dict[str, Any]:
    """``{"resume": resume}`` for a chapter that can resume; refuse what cannot be done."""
    if resume and out is None:
        raise ValueError("resume needs the output folder of the run to continue (out / --out)")
    if _accepts_resume(chapter.run):
        return {"resume": resume}
    if resume:
        raise ValueError(f"chapter {chapter.name!r} cannot resume: its run() takes no resume")
    return {}


def _prepare_run_folder(  # noqa: PLR0913 - the run's identity, checked against run.json
    name: str,
    budget: str,
    seed: int,
    data_path: Path | None,
    overrides: dict[str, Any],
    out: str | os.PathLike | None,
    resume: bool,
    force: bool,
) -> Path | None:
    """Check ``out`` before any compute and record the run in ``out/run.json``."""
    if out is None:
        return None
    out_path = prepare_out(out, resume=resume, force=force)
    record = _run_record(name, budget, seed, data_path, overrides)
    if resume:
        _check_resume_record(out_path, record)
    _write_record(out_path, record)
    return out_path


def run_chapter(
    name: str,
    /,
    budget: str = "standard",
    device: DeviceLike = "auto",
    seed: int = 0,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    **overrides: Any,
) -> Results:
    """Run a chapter's experiments: the one code path behind the CLI and the notebooks.

    The output folder is checked before anything is computed (:func:`prepare_out`): nothing in
    it is overwritten unless ``force`` or ``resume`` says so.

    **Checkpoint contract** (what a chapter's ``run`` does with ``out``): its ``run`` takes a
    ``resume: bool = False`` keyword, and when ``out`` is given it trains every model through
    ``core.training.fit`` with ``checkpoint_dir=out / "checkpoints" / <model name>``,
    ``resume=resume``, ``config=settings`` (so a checkpoint written with other settings is
    refused, not reused) and a ``checkpoint_every`` that saves every few minutes of work.

    Then Ctrl-C keeps the checkpoints ``fit`` has written (and ``out/interrupted.json``: how long
    the run went, which checkpoints exist; removed when a run completes), and
    ``run_chapter(..., out=same, resume=True)`` (CLI: ``--resume``) continues each model from
    its checkpoint; a model whose checkpoint is complete is not trained again. ``out/run.json``
    records the chapter, budget, seed, data folder and overrides; resuming with other values is
    refused. A run without ``resume`` that finds checkpoints is refused, or, with ``force``,
    deletes them and starts clean: stale checkpoints are never reused silently. A chapter whose
    ``run`` takes no ``resume`` cannot be resumed (``resume=True`` raises ``ValueError``).

    Args:
        name: Chapter name (see :data:`CHAPTERS`).
        budget: ``quick``, ``standard`` or ``full``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        seed: Seed for data generation, initialisation and training.
        data: Folder with the real data set; ``None`` uses the synthetic phantom.
        out: If given, ``results.json``, ``run.json`` and ``checkpoints/`` are written there.
        resume: Continue the run in ``out`` from its checkpoints (needs ``out``).
        force: Replace an existing ``results.json`` and delete existing checkpoints.
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
    extra = _resume_argument(chapter, resume, out)
    out_path = _prepare_run_folder(name, budget, seed, data_path, overrides, out, resume, force)
    seed_everything(seed)
    start = time.perf_counter()
    try:
        results = chapter.run(
            budget=budget,
            device=torch_device,
            seed=seed,
            data=data_path,
            out=out_path,
            **extra,
            **overrides,
        )
    except KeyboardInterrupt:
        if out_path is not None:
            _write_interrupted(out_path, time.perf_counter() - start)
        raise
    if out_path is not None:
        (out_path / INTERRUPTED_NAME).unlink(missing_ok=True)
    results.timing_s["total"] = time.perf_counter() - start
    if results.data is None and data_path is not None:
        results.data = str(data_path)
    if out_path is not None:
        results.save(out_path)
    return results

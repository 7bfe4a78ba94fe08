"""Command line: ``zmic-lessons run CHAPTER --budget ...`` and ``zmic-lessons phantom ...``.

Nothing a user has is overwritten without ``--force``: ``phantom`` refuses a folder that is not
empty, ``run`` refuses an ``--out`` that already holds a ``results.json`` or checkpoints (see
:func:`zmic_lessons.chapters.prepare_out`); without ``--out``, every ``run`` writes a new folder
``results/CHAPTER/BUDGET-seedN-YYYYmmdd-HHMMSS``. ``--out`` is checked before any compute. Ctrl-C
during ``run`` keeps the checkpoints written so far, prints how to resume (``--resume``) and
exits with code 130; errors print one line (``zmic-lessons: error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .chapters import (
    CHAPTERS,
    CHECKPOINTS,
    ChapterNotAvailable,
    available_chapters,
    can_resume,
    get_chapter,
    get_tool,
    run_chapter,
    saved_checkpoints,
)
from .core.budget import BUDGETS
from .core.results import atomic_write_text
from .core.settings import parse_overrides

PHANTOM_LAYOUTS = ("mscmrseg", "myops", "acdc", "mmwhs", "lascarqs")
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zmic-lessons", description="Run the chapters of the ZMIC course."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate a chapter, write OUT/results.json")
    run.add_argument("chapter", help=f"one of: {', '.join(CHAPTERS)}")
    run.add_argument("--budget", choices=BUDGETS, default="standard")
    run.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--data", type=Path, default=None, help="real data folder (default: phantom)")
    run.add_argument(
        "--out",
        default=None,
        help="folder for results.json and checkpoints; an existing results.json is not replaced "
        "(default: a new folder results/CHAPTER/BUDGET-seedN-TIME for every run)",
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field of the chapter's Settings (repeatable), e.g. --set steps=50",
    )
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    run.add_argument(
        "--force",
        action="store_true",
        help="replace an existing OUT/results.json and delete OUT/checkpoints",
    )

    sub.add_parser("list", help="list the chapters available in this version")

    phantom = sub.add_parser(
        "phantom", help="write synthetic cases in a real data set's file layout"
    )
    phantom.add_argument("layout", choices=PHANTOM_LAYOUTS)
    phantom.add_argument("--cases", type=int, default=4)
    phantom.add_argument("--out", required=True, help="an empty or new folder")
    phantom.add_argument("--seed", type=int, default=0)
    phantom.add_argument(
        "--force", action="store_true", help="write into a folder that is not empty"
    )
    _add_restore(sub)
    _add_evaluate_scar(sub)
    return parser


def _add_evaluate_scar(sub: Any) -> None:
    scar = sub.add_parser(
        "evaluate-scar",
        help="LAScarQS metrics of your own files: LA Dice/ASSD/HD in mm, scar scored on the "
        "ground-truth LA surface (Dice, accuracy, sensitivity, specificity, generalised Dice)",
    )
    scar.add_argument("pred", help="predicted 3-D NIfTI label map (cavity 1 or 420, scar 3 or 422)")
    scar.add_argument("gt", help="ground-truth 3-D NIfTI label map, on the same grid")
    scar.add_argument("--json", default=None, help="also write the metrics to this JSON file")


def _evaluate_scar(args: argparse.Namespace) -> int:
    metrics = get_tool("evaluate-scar")(Path(args.pred).expanduser(), Path(args.gt).expanduser())
    width = max(len(k) for k in metrics)
    for key, value in metrics.items():
        print(f"{key:<{width}}  {value:.4g}")
    if args.json:
        target = Path(args.json).expanduser()
        if target.exists():
            raise FileExistsError(f"{target} exists; choose another --json file")
        atomic_write_text(target, json.dumps(metrics, indent=2) + "\n")
        print(f"metrics written to {target}")
    return 0


def _add_restore(sub: Any) -> None:
    restore = sub.add_parser(
        "restore",
        help="super-resolve (x2) or denoise your own PNG or NIfTI slice with the restoration "
        "chapter's networks; the result is written next to it",
    )
    restore.add_argument("input", help="a .png, .nii or .nii.gz file")
    restore.add_argument("--task", choices=("sr", "denoise"), default="sr")
    restore.add_argument(
        "--method",
        choices=("ronet", "plain_cnn", "bayesr_sup", "bayesr_unsup", "bicubic"),
        default="ronet",
    )
    restore.add_argument("--budget", choices=BUDGETS, default="standard")
    restore.add_argument("--out", default=None, help="output file (default: next to the input)")
    restore.add_argument(
        "--checkpoints", default=None, help="keep the trained networks here and reuse them"
    )
    restore.add_argument("--slice", type=int, default=None, help="NIfTI slice to restore")
    restore.add_argument("--force", action="store_true", help="replace an existing output")


def _restore(args: argparse.Namespace) -> int:
    path = Path(args.input).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"restore: no file at {path}")
    written = get_tool("restore")(
        path,
        args.out,
        task=args.task,
        budget=args.budget,
        method=args.method,
        checkpoint_dir=args.checkpoints,
        overwrite=args.force,
        slice_index=args.slice,
    )
    print(f"restored ({args.method}, {args.task}) {path} -> {written}")
    return 0


def _overrides(chapter: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs typed by the chapter's ``Settings``."""
    if not pairs:
        return {}
    settings = get_chapter(chapter).settings
    if settings is None:
        raise ValueError(f"chapter {chapter!r} has no Settings to override")
    return parse_overrides(settings, pairs)


def _out_folder(value: str, what: str) -> Path:
    if not value.strip():
        raise ValueError(f"{what}: the output folder is an empty path; give a folder")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what}: {path} is a file, not a folder")
    return path


def _phantom(args: argparse.Namespace) -> int:
    from .data.layouts import write_phantom_dataset

    if args.cases < 1:
        raise ValueError(f"--cases must be at least 1, got {args.cases}")
    out = _out_folder(args.out, "--out")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise FileExistsError(
            f"{out} is not empty; the phantom is written into an empty or new folder so that "
            "no file of yours (e.g. a real download) is replaced: choose another --out, or "
            "pass --force to write into it (files of the same names are replaced)"
        )
    root = write_phantom_dataset(
        args.layout, out, cases=args.cases, seed=args.seed, overwrite=args.force
    )
    print(f"wrote {args.cases} {args.layout} phantom case(s) to {root}")
    return 0


def _resume_hint(argv: Sequence[str], chapter: str, out: Path) -> str:
    """What the user types to continue (or redo) an interrupted run."""
    args = [a for a in argv if a not in ("--force", "--resume")]
    if "--out" not in args and not any(a.startswith("--out=") for a in args):
        args += ["--out", str(out)]
    saved = [str(p.relative_to(out / CHECKPOINTS)) for p in saved_checkpoints(out)]
    if not saved:
        again = shlex.join(["zmic-lessons", *args])
        return f"interrupted before any checkpoint was written; to run again: {again}"
    kept = f"checkpoints kept in {out / CHECKPOINTS}: {', '.join(saved)}"
    if not can_resume(chapter):
        again = shlex.join(["zmic-lessons", *args, "--force"])
        return (
            f"interrupted; {kept}, but chapter {chapter!r} cannot resume from them yet.\n"
            f"To start again (deletes them): {again}"
        )
    command = shlex.join(["zmic-lessons", *args, "--resume"])
    return f"interrupted; {kept}.\nTo continue the run: {command}"


def _new_run_folder(chapter: str, budget: str, seed: int) -> Path:
    """``results/CHAPTER/BUDGET-seedN-YYYYmmdd-HHMMSS`` (``-2``, ``-3`` ... if taken)."""
    base = Path("results") / chapter / f"{budget}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = (
        _out_folder(args.out, "--out")
        if args.out is not None
        else _new_run_folder(args.chapter, args.budget, args.seed)
    )
    overrides = _overrides(args.chapter, args.overrides)
    try:
        results = run_chapter(
            args.chapter,
            budget=args.budget,
            device=args.device,
            seed=args.seed,
            data=args.data,
            out=out,
            resume=args.resume,
            force=args.force,
            **overrides,
        )
    except KeyboardInterrupt:
        print(f"\nzmic-lessons: {_resume_hint(argv, args.chapter, out)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(results.table())
    print(f"results written to {out / 'results.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zmic-lessons`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name in available_chapters():
                print(name)
            return 0
        if args.command == "phantom":
            return _phantom(args)
        if args.command == "restore":
            return _restore(args)
        if args.command == "evaluate-scar":
            return _evaluate_scar(args)
        return _run(args, argv)
    except (ChapterNotAvailable, OSError, ValueError, RuntimeError) as err:
        print(f"zmic-lessons: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nzmic-lessons: interrupted (nothing half-written is left)", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())

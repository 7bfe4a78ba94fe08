"""Command line: ``zmic-lessons run CHAPTER --budget ...`` and ``zmic-lessons phantom ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .chapters import CHAPTERS, ChapterNotAvailable, available_chapters, get_chapter, run_chapter
from .core.budget import BUDGETS
from .core.settings import parse_overrides

PHANTOM_LAYOUTS = ("mscmrseg", "myops", "acdc", "mmwhs", "lascarqs")


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
    run.add_argument("--out", type=Path, default=None, help="folder for results.json")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field of the chapter's Settings (repeatable), e.g. --set steps=50",
    )

    sub.add_parser("list", help="list the chapters available in this version")

    phantom = sub.add_parser(
        "phantom", help="write synthetic cases in a real data set's file layout"
    )
    phantom.add_argument("layout", choices=PHANTOM_LAYOUTS)
    phantom.add_argument("--cases", type=int, default=4)
    phantom.add_argument("--out", type=Path, required=True)
    phantom.add_argument("--seed", type=int, default=0)
    return parser


def _overrides(chapter: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs typed by the chapter's ``Settings``."""
    if not pairs:
        return {}
    settings = get_chapter(chapter).settings
    if settings is None:
        raise ValueError(f"chapter {chapter!r} has no Settings to override")
    return parse_overrides(settings, pairs)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zmic-lessons`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name in available_chapters():
                print(name)
            return 0
        if args.command == "phantom":
            from .data.layouts import write_phantom_dataset

            if args.cases < 1:
                raise ValueError(f"--cases must be at least 1, got {args.cases}")
            root = write_phantom_dataset(args.layout, args.out, cases=args.cases, seed=args.seed)
            print(f"wrote {args.cases} {args.layout} phantom case(s) to {root}")
            return 0
        out = args.out if args.out is not None else Path("results") / args.chapter
        overrides = _overrides(args.chapter, args.overrides)
        results = run_chapter(
            args.chapter,
            budget=args.budget,
            device=args.device,
            seed=args.seed,
            data=args.data,
            out=out,
            **overrides,
        )
    except (ChapterNotAvailable, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"zmic-lessons: error: {err}", file=sys.stderr)
        return 2
    print(results.table())
    print(f"results written to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

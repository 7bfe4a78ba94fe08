"""The adaptation chapter over seeds (standard budget): are the chapter's targets met on average?

Runs ``zmic_lessons.adaptation.chapter.run`` for every seed, task and group of methods (one
process each, one thread; every method reseeds itself, so the numbers equal whole runs), prints
every method's target-test Dice per seed, then mean and standard deviation over the seeds, and
checks the targets:

* CFDNet and VarDA >= source-only + 0.10 Dice on the target, in both tasks (means);
* VarDA with beta = 0 below VarDA (means, both tasks).

    python benchmarks/bench_adaptation.py [--seeds 0 1 2] [--jobs 2] [--set steps=180 ...]

Writes ``benchmarks/results/adaptation.json`` (the settings, per-seed metrics, means, standard
deviations, the summed one-thread CPU time per seed, the targets' verdicts); the book cites it
and checks that its settings are the notebook's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

NOTE = "cpu_s: one-thread CPU seconds per seed (both tasks, all methods), under load"
RESULT = Path(__file__).parent / "results" / "adaptation.json"
METHODS = ("source_only", "adversarial", "cfdnet", "varda", "varda_beta0", "target_supervised")
SUFFIXES = {"bssfp2lge": "", "ct2mr": "_ct2mr"}
#: Methods trained in one process (the benchmark spreads seeds x tasks x groups over processes).
GROUPS = (("source_only", "target_supervised", "adversarial"), ("cfdnet",), ("varda",),
          ("varda_beta0",))  # fmt: skip


def _one(job: tuple[int, str, tuple[str, ...]], overrides: dict[str, Any]) -> dict[str, Any]:
    """One seed, one task, some methods (each method reseeds itself: the metrics equal a full
    run's)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from zmic_lessons.adaptation import chapter

    seed, task, methods = job
    start, cpu = time.perf_counter(), time.process_time()
    results = chapter.run(
        "standard", "cpu", seed, None, None, **{**overrides, "tasks": (task,), "methods": methods}
    )
    return {
        "seed": seed,
        "metrics": results.metrics,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
    }


def _merge(parts: list[dict[str, Any]], seeds: list[int]) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        mine = [p for p in parts if p["seed"] == seed]
        metrics = {k: v for p in mine for k, v in p["metrics"].items()}
        rows.append({"seed": seed, "metrics": metrics,
                     "cpu_s": sum(p["cpu_s"] for p in mine)})  # fmt: skip
    return rows


def _run_jobs(args: argparse.Namespace, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the jobs not yet in the partial file (``<out>.partial.jsonl``, one line per finished
    job, so an interrupted benchmark resumes where it stopped)."""
    partial = args.out.with_suffix(".partial.jsonl")
    done = (
        [json.loads(line) for line in partial.read_text().splitlines()] if partial.is_file() else []
    )
    have = {(d["seed"], d["task"], tuple(d["group"])) for d in done}
    jobs = [(seed, task, group) for seed in args.seeds for task in SUFFIXES for group in GROUPS
            if (seed, task, group) not in have]  # fmt: skip
    partial.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool, partial.open("a") as fh:
        futures = {pool.submit(_one, job, overrides): job for job in jobs}
        for future in as_completed(futures):
            seed, task, group = futures[future]
            part = {**future.result(), "task": task, "group": list(group)}
            fh.write(json.dumps(part) + "\n")
            fh.flush()
            done.append(part)
    return [d for d in done if d["seed"] in args.seeds]


def _complete(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The finished jobs of the seeds whose every job is in the partial file."""
    partial = args.out.with_suffix(".partial.jsonl")
    done = [json.loads(line) for line in partial.read_text().splitlines()]
    need = len(SUFFIXES) * len(GROUPS)
    seeds = [s for s in args.seeds if sum(d["seed"] == s for d in done) == need]
    if not seeds:
        raise SystemExit(f"{partial}: no seed has all its {need} jobs yet")
    return [d for d in done if d["seed"] in seeds]


def _summary(rows: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    keys = rows[0]["metrics"].keys()
    values = {k: np.array([r["metrics"][k] for r in rows], dtype=float) for k in keys}
    mean = {k: float(v.mean()) for k, v in values.items()}
    std = {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()}
    return mean, std


def _targets(mean: dict[str, float]) -> dict[str, dict[str, Any]]:
    out = {}
    for sfx in SUFFIXES.values():
        base = mean[f"dice_source_only{sfx}"]
        for method in ("cfdnet", "varda"):
            gain = mean[f"dice_{method}{sfx}"] - base
            out[f"{method}_gain{sfx or '_bssfp2lge'}"] = {"gain": gain, "met": gain >= 0.10}
        drop = mean[f"dice_varda{sfx}"] - mean[f"dice_varda_beta0{sfx}"]
        out[f"varda_minus_beta0{sfx or '_bssfp2lge'}"] = {"gain": drop, "met": drop > 0.0}
    return out


def _print(rows: list[dict[str, Any]], mean: dict[str, float], std: dict[str, float]) -> None:
    for task, sfx in SUFFIXES.items():
        print(f"\n{task}: target-test Dice")
        print(f"{'seed':>6} " + " ".join(f"{m[:12]:>12}" for m in METHODS))
        for r in rows:
            line = " ".join(f"{r['metrics'][f'dice_{m}{sfx}']:>12.3f}" for m in METHODS)
            print(f"{r['seed']:>6} {line}")
        print(f"{'mean':>6} " + " ".join(f"{mean[f'dice_{m}{sfx}']:>12.3f}" for m in METHODS))
        print(f"{'std':>6} " + " ".join(f"{std[f'dice_{m}{sfx}']:>12.3f}" for m in METHODS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="processes in parallel")
    parser.add_argument("--set", nargs="*", default=[], help="KEY=VALUE Settings overrides")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument(
        "--summarise",
        action="store_true",
        help="train nothing: summarise the seeds the partial file completes",
    )
    args = parser.parse_args()
    from zmic_lessons.adaptation.settings import BUDGETS, Settings
    from zmic_lessons.core.budget import select
    from zmic_lessons.core.settings import parse_overrides, settings_dict

    overrides = parse_overrides(Settings, args.set)
    parts = _complete(args) if args.summarise else _run_jobs(args, overrides)
    args.seeds = sorted({p["seed"] for p in parts})
    rows = _merge(parts, args.seeds)
    mean, std = _summary(rows)
    _print(rows, mean, std)
    targets = _targets(mean)
    for name, t in targets.items():
        print(f"{name:>28}: {t['gain']:+.3f} {'met' if t['met'] else 'NOT met'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "budget": "standard", "overrides": overrides,
        "settings": settings_dict(select("standard", BUDGETS, **overrides)), "seeds": args.seeds,
        "rows": rows,
        "mean": mean, "std": std, "targets": targets, "machine": platform.processor() or
        platform.machine(), "note": NOTE,
    }, indent=1) + "\n")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

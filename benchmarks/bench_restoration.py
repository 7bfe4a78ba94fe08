"""The restoration chapter's targets over seeds (standard budget, one thread).

Runs the chapter once per seed and prints every PSNR/SSIM with its mean and spread (sample
standard deviation over the seeds), then the targets of the chapter:

- RONet and supervised BayeSR >= bicubic + 1 dB at x2 on the held-out real images, and >= the
  plain CNN of the same size;
- unsupervised BayeSR >= bicubic;  RONet denoising >= noisy input + 5 dB.

The JSON written to ``benchmarks/results/restoration.json`` is what the book cites.

    python benchmarks/bench_restoration.py [--seeds 0 1 2] [--budget standard] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from zmic_lessons.chapters import run_chapter
from zmic_lessons.core.settings import parse_overrides
from zmic_lessons.restoration.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "restoration.json"
TARGETS = (
    ("ronet >= bicubic + 1 dB", "psnr_ronet", "psnr_bicubic", 1.0),
    ("bayesr_sup >= bicubic + 1 dB", "psnr_bayesr_sup", "psnr_bicubic", 1.0),
    ("ronet >= plain cnn", "psnr_ronet", "psnr_plain_cnn", 0.0),
    ("bayesr_sup >= plain cnn", "psnr_bayesr_sup", "psnr_plain_cnn", 0.0),
    ("bayesr_unsup >= bicubic", "psnr_bayesr_unsup", "psnr_bicubic", 0.0),
    ("ronet denoise >= noisy + 5 dB", "psnr_ronet_denoise", "psnr_noisy", 5.0),
)


def summarise(per_seed: dict[int, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation of every metric over the seeds."""
    names = next(iter(per_seed.values())).keys()
    out = {}
    for name in names:
        values = np.array([m[name] for m in per_seed.values()], dtype=float)
        spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[name] = {"mean": float(values.mean()), "std": spread}
    return out


def targets(per_seed: dict[int, dict[str, float]]) -> list[dict[str, object]]:
    """Each target's margin (method - reference - required gain) per seed and on the mean."""
    rows = []
    for label, a, b, gain in TARGETS:
        margins = [m[a] - m[b] - gain for m in per_seed.values()]
        rows.append({
            "target": label, "margin_mean_db": float(np.mean(margins)),
            "margin_min_db": float(np.min(margins)), "holds_on_mean": bool(np.mean(margins) >= 0),
            "seeds_holding": int(sum(x >= 0 for x in margins)), "seeds": len(margins),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", default="standard")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="combine per-seed JSON files written by this script"
    )
    parser.add_argument("--set", nargs="*", default=[], help="settings overrides KEY=VALUE")
    parser.add_argument("--note", default="one thread per seed")
    args = parser.parse_args()
    per_seed, times = {}, {}
    if args.merge:
        for path in args.merge:
            part = json.loads(path.read_text())
            per_seed.update({int(k): v for k, v in part["per_seed"].items()})
            times.update({int(k): v for k, v in part["seconds_per_run"].items()})
        args.seeds = sorted(per_seed)
    torch.set_num_threads(1)
    overrides = parse_overrides(Settings, args.set)
    for seed in [] if args.merge else args.seeds:
        start = time.perf_counter()
        results = run_chapter(
            "restoration", budget=args.budget, device="cpu", seed=seed, **overrides
        )
        times[seed] = time.perf_counter() - start
        per_seed[seed] = dict(results.metrics)
        print(f"seed {seed}: {times[seed]:.0f} s (one thread)", flush=True)
    summary = summarise(per_seed)
    for name, stats in summary.items():
        print(f"{name:28s} {stats['mean']:9.4f} +- {stats['std']:.4f}")
    rows = targets(per_seed)
    for row in rows:
        margin = f"margin {row['margin_mean_db']:+.2f} dB (min {row['margin_min_db']:+.2f})"
        print(f"{row['target']:32s} {margin}, {row['seeds_holding']}/{row['seeds']} seeds hold")
    payload = {
        "budget": args.budget, "seeds": args.seeds, "threads": 1,
        "seconds_per_run": {str(k): round(float(v), 1) for k, v in times.items()},
        "per_seed": {str(k): v for k, v in per_seed.items()},
        "summary": summary, "targets": rows,
        "overrides": args.set, "note": args.note,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

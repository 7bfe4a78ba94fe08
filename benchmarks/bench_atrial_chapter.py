"""The atrial chapter's targets over seeds: ``python benchmarks/bench_atrial_chapter.py``.

Runs ``run_chapter("atrial", budget, seed)`` for each seed (``--jobs`` processes, one thread
each), prints the mean and spread of the headline metrics, checks the targets and writes
``benchmarks/results/atrial.json`` (the file the notebook cites).

Targets at ``standard``: the baseline's cross-centre Dice clearly below its seen-centre Dice
(the problem exists) with seen >= 0.8; histogram matching >= baseline + 0.05 on the unseen
centre.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

KEYS = (
    "dice_seen",
    "dice_unseen_baseline",
    "dice_unseen_hm",
    "dice_unseen_aug",
    "dice_seen_hm",
    "dice_seen_aug",
    "hd95_seen_mm",
    "hd95_unseen_baseline_mm",
    "hd95_unseen_hm_mm",
    "hd95_unseen_aug_mm",
    "assd_seen_mm",
    "assd_unseen_baseline_mm",
    "assd_unseen_hm_mm",
    "assd_unseen_aug_mm",
    "deeplab_dice_seen",
    "deeplab_dice_unseen",
    "scar_dice",
    "scar_gdice",
    "scar_dice_volume",
    "scar_sensitivity",
    "scar_specificity",
)


def one_seed(seed: int, budget: str, shift_volumes: int = 0) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from zmic_lessons.chapters import run_chapter

    start = time.process_time()
    res = run_chapter("atrial", budget=budget, seed=seed, device="cpu")
    out = {k: float(v) for k, v in res.metrics.items()}
    out["cpu_s"] = time.process_time() - start
    out["wall_s"] = res.timing_s["total"]
    if shift_volumes:
        # the shift benchmark on this run's own networks (no second training)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_atrial_shift import evaluate_variants

        art = res.artifacts
        models = {s: art.models[f"unet/{s}"] for s in ("none", "hm")}
        out["shift"] = evaluate_variants(art.experiment, models, res.settings, seed, shift_volumes)
    return out


def summarise(per_seed: list[dict]) -> dict:
    table = {}
    for key in (*KEYS, "cpu_s", "wall_s"):
        vals = np.array([r.get(key, np.nan) for r in per_seed], dtype=float)
        table[key] = {
            "mean": float(np.nanmean(vals)),
            "std": float(np.nanstd(vals)),
            "min": float(np.nanmin(vals)),
            "max": float(np.nanmax(vals)),
            "values": [None if not np.isfinite(v) else float(v) for v in vals],
        }
    return table


def targets(table: dict) -> dict[str, bool]:
    m = {k: v["mean"] for k, v in table.items()}
    return {
        "seen >= 0.8": m["dice_seen"] >= 0.8,
        "unseen baseline <= seen - 0.1": m["dice_unseen_baseline"] <= m["dice_seen"] - 0.1,
        "hm >= baseline + 0.05 (unseen)": m["dice_unseen_hm"] >= m["dice_unseen_baseline"] + 0.05,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", default="standard")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/atrial.json")
    parser.add_argument(
        "--shift-volumes", type=int, default=0,
        help="also run bench_atrial_shift on each seed's networks (N patients per variant) "
        "and write benchmarks/results/atrial_shift.json",
    )  # fmt: skip
    args = parser.parse_args()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        n = len(args.seeds)
        per_seed = list(pool.map(one_seed, args.seeds, [args.budget] * n, [args.shift_volumes] * n))
    if args.shift_volumes:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_atrial_shift import summarise as summarise_shift

        shifts = [r.pop("shift") for r in per_seed]
        shift = summarise_shift(shifts, args.seeds, args.budget, args.shift_volumes)
        shift_path = Path(args.out).with_name("atrial_shift.json")
        shift_path.write_text(json.dumps(shift, indent=2) + "\n")
        print("wrote", shift_path)
    table = summarise(per_seed)
    print(f"atrial, budget={args.budget}, seeds {args.seeds}: mean ± std [min, max]")
    for key, row in table.items():
        print(
            f"  {key:26s} {row['mean']:8.3f} ± {row['std']:.3f}"
            f"  [{row['min']:.3f}, {row['max']:.3f}]"
        )
    checks = targets(table)
    for name, ok in checks.items():
        print(f"  target {name}: {'holds' if ok else 'MISSED'}")
    result = {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "command": "python " + " ".join(sys.argv),
        "benchmark": "bench_atrial_chapter",
        "budget": args.budget,
        "seeds": args.seeds,
        "metrics": table,
        "targets": checks,
        "per_seed": per_seed,
        "threads_per_seed": 1,
        "wall_s": time.perf_counter() - start,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()

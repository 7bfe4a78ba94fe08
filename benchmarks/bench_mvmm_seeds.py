"""The MvMM chapter over several seeds (standard budget, without RegNet): how general seed 0 is.

Prints one row per seed: myocardium Dice of the joint model (common space and each sequence's
space), each sequence alone and the best of them, no registration, the residual misalignment,
scar Dice and the generalized-MvMM numbers; then the means over the seeds.

    python benchmarks/bench_mvmm_seeds.py [--seeds 0 1 2] [--placement grid|template]

Writes ``benchmarks/results/mvmm_seeds.json`` (``mvmm_seeds_grid.json`` for the grid placement):
the rows, their means and the scar mean over the seeds with a scar (the book cites them).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from bench_mvmm_json import write_result

from zmic_lessons.data.labels import SCAR
from zmic_lessons.mvmm import chapter

COLUMNS = (
    ("mvmm", "dice_myo_mvmm"),
    ("mvmm lge", "dice_myo_mvmm_lge"),
    ("lge", "dice_myo_single_lge"),
    ("mvmm t2", "dice_myo_mvmm_t2"),
    ("t2", "dice_myo_single_t2"),
    ("bssfp", "dice_myo_single_bssfp"),
    ("best 1", "dice_myo_single_best"),
    ("noreg", "dice_myo_noreg"),
    ("init px", "initial_translation_px"),
    ("res px", "residual_translation_px"),
    ("res deg", "residual_rotation_deg"),
    ("scar", "dice_scar"),
    ("oedema", "dice_edema"),
    ("miss t2", "dice_myo_missing_t2"),
    ("t2 mu0 zf", "t2_myo_darkest_mean_zero_filled_t2"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--placement", choices=["grid", "template"],
                        default=chapter.Settings().atlas_placement,
                        help="initial atlas placement (Settings.atlas_placement)")  # fmt: skip
    args = parser.parse_args()
    print(f"{'seed':>4} " + " ".join(f"{name:>9}" for name, _ in COLUMNS) + f" {'s':>5}")
    rows, scar_with_scar, seconds = [], [], []
    for seed in args.seeds:
        start = time.perf_counter()
        results = chapter.run(
            "standard", torch.device("cpu"), seed, None, None, run_regnet=False,
            atlas_placement=args.placement,
        )  # fmt: skip
        rows.append([results.metrics[key] for _, key in COLUMNS])
        if (results.artifacts.experiment.case.common_labels == SCAR).any():
            scar_with_scar.append(results.metrics["dice_scar"])
        row = " ".join(f"{v:9.3f}" for v in rows[-1])
        seconds.append(time.perf_counter() - start)
        print(f"{seed:>4} {row} {seconds[-1]:5.0f}", flush=True)
    print(f"{'mean':>4} " + " ".join(f"{v:9.3f}" for v in np.mean(rows, axis=0)))
    # a case without scar scores 1 (nothing found) or 0 (a false scar): leave those out
    if scar_with_scar:
        print(f"scar Dice over the {len(scar_with_scar)} seeds with a scar: "
              f"{np.mean(scar_with_scar):.3f}")  # fmt: skip
    keys = [key for _, key in COLUMNS]
    write_result(
        "seeds" if args.placement == "template" else f"seeds_{args.placement}",
        {
            "budget": "standard", "placement": args.placement, "seeds": args.seeds,
            "rows": [dict(zip(keys, r, strict=True)) for r in rows],
            "mean": dict(zip(keys, np.mean(rows, axis=0).tolist(), strict=True)),
            "seeds_with_scar": len(scar_with_scar),
            "scar_dice_mean_with_scar": float(np.mean(scar_with_scar)) if scar_with_scar else None,
            "seconds_per_seed": seconds,
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()

"""The MvMM chapter over several seeds (standard budget, without RegNet): how general seed 0 is.

Prints one row per seed: myocardium Dice of the joint model (common space and each sequence's
space), each sequence alone, no registration, the residual misalignment, scar Dice and the
generalized-MvMM numbers.

    python benchmarks/bench_mvmm_seeds.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from zmic_lessons.mvmm import chapter

COLUMNS = (
    ("mvmm", "dice_myo_mvmm"),
    ("mvmm lge", "dice_myo_mvmm_lge"),
    ("lge", "dice_myo_single_lge"),
    ("mvmm t2", "dice_myo_mvmm_t2"),
    ("t2", "dice_myo_single_t2"),
    ("bssfp", "dice_myo_single_bssfp"),
    ("noreg", "dice_myo_noreg"),
    ("res px", "residual_translation_px"),
    ("res deg", "residual_rotation_deg"),
    ("scar", "dice_scar"),
    ("miss t2", "dice_myo_missing_t2"),
    ("t2 mu0 zf", "t2_myo_darkest_mean_zero_filled_t2"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(f"{'seed':>4} " + " ".join(f"{name:>9}" for name, _ in COLUMNS) + f" {'s':>5}")
    for seed in args.seeds:
        start = time.perf_counter()
        results = chapter.run("standard", torch.device("cpu"), seed, None, None, run_regnet=False)
        row = " ".join(f"{results.metrics[key]:9.3f}" for _, key in COLUMNS)
        print(f"{seed:>4} {row} {time.perf_counter() - start:5.0f}", flush=True)


if __name__ == "__main__":
    main()

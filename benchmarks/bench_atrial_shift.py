"""Which differences between hospitals make the atrial network fail, and which HM repairs.

``python benchmarks/bench_atrial_shift.py [--seeds 0 1 2] [--budget standard] [--out FILE]``

Trains the chapter's U-Net on the seen centres (z-score only, and with histogram matching),
then tests it on the HM-reference centre with **one** acquisition property replaced by the
unseen centre's (contrast curve, enhancement timing, TI error, fat suppression, coil bias, SNR,
resolution, field-of-view placement), and on the unseen centre itself. Prints mean and spread
over seeds and writes ``benchmarks/results/atrial_shift.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from zmic_lessons.atrial.chapter import make_experiment, train_one
from zmic_lessons.atrial.evaluation import mean_over, score_model
from zmic_lessons.atrial.experiment import _case_seed, _volume, to_grid
from zmic_lessons.atrial.settings import BUDGETS
from zmic_lessons.core.budget import select
from zmic_lessons.data.atrial import ATRIAL_CENTRES, simulate_atrium

#: factor -> the AtrialCentre fields it sets
FACTORS = {
    "contrast curve": ("gamma",),
    "early scan (blood/scar/wall T1)": ("t1_blood", "t1_myo", "t1_scar"),
    "TI set late": ("ti_error",),
    "no fat suppression": ("fat_suppressed",),
    "coil bias": ("bias",),
    "SNR": ("snr",),
    "resolution (PSF)": ("blur_mm",),
    "FOV placement": ("offset_mm",),
}


def variants(base: str, unseen: str) -> dict[str, object]:
    """The base centre, the base with each factor of the unseen centre, and the unseen one."""
    b, u = ATRIAL_CENTRES[base], ATRIAL_CENTRES[unseen]
    out: dict[str, object] = {f"{base} (seen)": b}
    for name, fields in FACTORS.items():
        out[f"{base} + {name} of {unseen}"] = dataclasses.replace(
            b, name=f"{base}+{name}", **{f: getattr(u, f) for f in fields}
        )
    out[f"{unseen} (unseen)"] = u
    return out


def evaluate_variants(exp, models, settings, seed: int, n_volumes: int) -> dict:
    """LA Dice of each scheme's model on every variant (``n_volumes`` new patients each)."""
    out: dict[str, dict[str, float]] = {}
    for label, centre in variants(settings.hm_reference_centre, settings.unseen_centre).items():
        vols = []
        for i in range(n_volumes):
            case = simulate_atrium(
                _case_seed(seed, 7, i), shape=settings.grid_shape,
                spacing_mm=settings.grid_spacing_mm, centre=centre,
            )  # fmt: skip
            image, labels = to_grid(case.image, case.labels, case.spacing, settings)
            vols.append(_volume(image, labels, settings, label, f"{label}{i}"))
        out[label] = {
            s: mean_over(score_model(m, {label: vols}, s, exp.reference)[label], "dice")
            for s, m in models.items()
        }
        print(seed, label, {k: round(v, 3) for k, v in out[label].items()}, flush=True)
    return out


def run_seed(seed: int, budget: str, n_volumes: int) -> dict[str, dict[str, float]]:
    torch.set_num_threads(1)
    settings = select(budget, BUDGETS)
    exp = make_experiment(settings, seed)
    device = torch.device("cpu")
    models = {
        s: train_one(exp, settings, "unet", s, seed=seed, device=device)[0] for s in ("none", "hm")
    }
    return evaluate_variants(exp, models, settings, seed, n_volumes)


def summarise(per_seed: list[dict], seeds: list[int], budget: str, n_volumes: int) -> dict:
    """Mean and spread over seeds, printed, as the JSON written to ``--out``."""
    table = {}
    for label in per_seed[0]:
        table[label] = {}
        for scheme in ("none", "hm"):
            vals = np.array([r[label][scheme] for r in per_seed])
            table[label][scheme] = {
                "mean": float(vals.mean()), "std": float(vals.std()), "values": vals.tolist()
            }  # fmt: skip
    print(f"\nLA Dice over seeds {seeds} (mean ± std), U-Net, z-score only | with HM")
    for label, row in table.items():
        n, h = row["none"], row["hm"]
        print(f"  {label:44s} {n['mean']:.3f} ± {n['std']:.3f} | {h['mean']:.3f} ± {h['std']:.3f}")
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "command": "python " + " ".join(sys.argv),
        "benchmark": "bench_atrial_shift",
        "budget": budget,
        "seeds": seeds,
        "volumes_per_variant": n_volumes,
        "dice": table,
        "threads": 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", default="standard")
    parser.add_argument("--volumes", type=int, default=4, help="test volumes per variant")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes")
    parser.add_argument("--out", default="benchmarks/results/atrial_shift.json")
    args = parser.parse_args()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        n = len(args.seeds)
        per_seed = list(pool.map(run_seed, args.seeds, [args.budget] * n, [args.volumes] * n))
    result = summarise(per_seed, args.seeds, args.budget, args.volumes)
    result["wall_s"] = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()

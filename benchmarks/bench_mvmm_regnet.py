"""What limits MvMM-RegNet on the phantom: the loss, the network's training, or its regulariser?

For each seed (standard budget, RegNet only), trains the chapter's RegNet under a few settings
and prints the pairwise myocardium Dice of one warped atlas (``after``) and of the groupwise
fusion inside the model (``fusion``) on the held-out targets, and the fraction of pixels where
the predicted warp folds (first target, every atlas). Then the *ceiling of the loss*:
a free displacement field optimised on each held-out (atlas, target) pair by the same loss
(Adam, 300 steps), with no network at all. A network far below that ceiling is limited by its
training (data, steps, regulariser), not by the MvMM likelihood it is trained with.

    python benchmarks/bench_mvmm_regnet.py [--seeds 0 1 2]

Writes ``benchmarks/results/mvmm_regnet.json``; the MvMM chapter cites it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from bench_mvmm_json import write_result

from zmic_lessons.core.budget import select
from zmic_lessons.mvmm.evaluation import myo_dice
from zmic_lessons.mvmm.regnet import label_likelihood, mvmm_nll
from zmic_lessons.mvmm.regnet_experiment import RegNetData, regnet_data, run_regnet
from zmic_lessons.mvmm.settings import BUDGETS, Settings
from zmic_lessons.nn.spatial import bending_energy, warp

#: name -> overrides of the standard settings
VARIANTS: dict[str, dict[str, float]] = {
    "bending 1.0": {"regnet_bending": 1.0},
    "bending 0.1": {"regnet_bending": 0.1},
    "bending 0.03": {"regnet_bending": 0.03},
    "bending 0.01": {"regnet_bending": 0.01},
    "3x steps, 4x cases (bending 1.0)": {
        "regnet_bending": 1.0,
        "regnet_steps": 3000,
        "regnet_cases": 64,
    },
}


def folded_fraction(disp: torch.Tensor) -> float:
    """Fraction of pixels where ``x + u(x)`` folds (Jacobian determinant <= 0); ``(N, 2, H, W)``."""
    dy_y, dy_x = torch.gradient(disp[:, 0], dim=(1, 2))
    dx_y, dx_x = torch.gradient(disp[:, 1], dim=(1, 2))
    det = (1 + dy_y) * (1 + dx_x) - dy_x * dx_y
    return float((det <= 0).float().mean())


def loss_ceiling(data: RegNetData, settings: Settings, steps: int = 300) -> float:
    """Mean pairwise Dice of displacements optimised per held-out pair by the RegNet loss."""
    n = settings.regnet_atlases
    atlas_labels = data.test_labels[:n]
    probs = label_likelihood(atlas_labels, data.sigma)
    lam_norm = settings.regnet_disp_l2 * (64.0 / settings.regnet_size) ** 2
    dice = []
    for t in range(n, data.test_images.shape[0]):
        fixed = data.test_images[t : t + 1].expand(n, -1, -1)
        disp = torch.zeros(n, 2, *fixed.shape[-2:], requires_grad=True)
        opt = torch.optim.Adam([disp], lr=0.2)
        for _ in range(steps):
            loss = mvmm_nll(fixed, [warp(probs, disp)])
            loss = loss + settings.regnet_bending * bending_energy(disp)
            loss = loss + lam_norm * disp.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            warped = warp(atlas_labels[:, None].float(), disp, mode="nearest")[:, 0].long()
        dice += [myo_dice(data.test_labels[t], warped[i]) for i in range(n)]
    return float(np.mean(dice))


def one_seed(seed: int) -> dict[str, dict[str, float]]:
    """Every variant's metrics and the loss ceilings at one seed."""
    cpu = torch.device("cpu")
    row: dict[str, dict[str, float]] = {}
    for name, overrides in VARIANTS.items():
        settings = select("standard", BUDGETS, **overrides)
        start = time.process_time()
        result = run_regnet(settings, cpu, seed)
        metrics = {**result.metrics, "folded": folded_fraction(result.examples["displacement"])}
        row[name] = {**metrics, "cpu_s": time.process_time() - start}
        print(f"seed {seed} {name:34s} after {metrics['regnet_dice_after']:.3f} "
              f"fusion {metrics['regnet_dice_mvmm_fusion']:.3f} "
              f"folded {metrics['folded']:.4f}", flush=True)  # fmt: skip
    for bending in (1.0, 0.03):
        settings = select("standard", BUDGETS, regnet_bending=bending)
        ceiling = loss_ceiling(regnet_data(settings, cpu, seed), settings)
        row[f"loss ceiling, bending {bending}"] = {"regnet_dice_after": ceiling}
        print(f"seed {seed} loss ceiling, bending {bending}: after {ceiling:.3f}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = {seed: one_seed(seed) for seed in args.seeds}
    mean: dict[str, dict[str, float]] = {}
    for name in rows[args.seeds[0]]:
        keys = rows[args.seeds[0]][name]
        mean[name] = {k: float(np.mean([rows[s][name][k] for s in args.seeds])) for k in keys}
        std = float(np.std([rows[s][name]["regnet_dice_after"] for s in args.seeds]))
        mean[name]["regnet_dice_after_std"] = std
        fusion = mean[name].get("regnet_dice_mvmm_fusion", float("nan"))
        print(f"mean {name:34s} after {mean[name]['regnet_dice_after']:.3f} ± {std:.3f} "
              f"fusion {fusion:.3f}")  # fmt: skip
    write_result("regnet", {"budget": "standard", "seeds": args.seeds,
                            "variants": VARIANTS, "rows": rows, "mean": mean})  # fmt: skip


if __name__ == "__main__":
    main()

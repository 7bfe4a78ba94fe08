"""Why the MvMM leaves rotations unrecovered: how much likelihood the true transforms would gain.

For each seed (standard budget), fits the chapter's MvMM and prints, per moving sequence, the
true and fitted angle and the log-likelihood gained by putting that sequence's rotation and
slice shifts at the truth (the rest as fitted; 5 EM steps, no further registration); then the
gain with every transform at the truth. A small positive gain for one sequence means the ascent
stopped on a nearly flat ridge; a negative gain for all means the model itself prefers the
wrong transforms.

Then it starts fits at the true transforms, to separate the prior from the optimisation: with
the case's own labels as the prior (no blur beyond the chapter's, identity atlas transform)
over the chapter's whole coarse-to-fine schedule and at its finest level only, and with the
chapter's atlas at the finest level only (its final LL against the chapter fit's: is the
basin at the truth the likelihood's best?). Each prints the residual misalignment.

    python benchmarks/bench_mvmm_rotation.py [--seeds 0 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import torch
from bench_mvmm_json import write_result

from zmic_lessons.core.budget import select
from zmic_lessons.data.labels import SEQUENCES
from zmic_lessons.mvmm import chapter, experiment
from zmic_lessons.mvmm.evaluation import residual_misalignment
from zmic_lessons.mvmm.optimise import FitStart, MvMMFit, fit_mvmm
from zmic_lessons.mvmm.transforms import AtlasAffine, StackRigid


def refit_ll(exp: experiment.Experiment, fit: MvMMFit, transform: StackRigid) -> float:
    """Log-likelihood after 5 EM steps at fixed transforms, from the fit's parameters."""
    config = dataclasses.replace(
        exp.config, n_iter=1, em_steps=5, smoothing=(0.0,), register=False, optimise_atlas=False
    )
    again = fit_mvmm(
        exp.images, exp.atlas, exp.active, slice_coverage=exp.slice_coverage, mask=exp.mask,
        config=config,
        start=FitStart(transform=transform, atlas_transform=fit.atlas_transform, params=fit.params),
    )  # fmt: skip
    return again.history[-1]["ll"]


def from_truth(exp: experiment.Experiment, settings, truth: StackRigid, fit: MvMMFit) -> dict:
    """Residuals (px, deg) of fits started at the true transforms (see the module docstring)."""
    own, own_mask = experiment.label_atlas(settings, exp.case.common_labels, exp.images.device)
    finest = (exp.config.smoothing[-1],)
    runs = {
        "own_labels_from_identity": (own, own_mask, None, None),
        "own_labels_from_truth": (own, own_mask, truth, None),
        "own_labels_from_truth_finest": (own, own_mask, truth, finest),
        "atlas_from_truth_finest": (exp.atlas, exp.mask, truth, finest),
    }
    out = {}
    for name, (atlas, mask, start, smoothing) in runs.items():
        config = exp.config if smoothing is None else dataclasses.replace(
            exp.config, smoothing=smoothing
        )  # fmt: skip
        at = AtlasAffine.identity() if atlas is own else exp.atlas_init
        again = fit_mvmm(
            exp.images, atlas, exp.active, slice_coverage=exp.slice_coverage, mask=mask,
            config=config, start=FitStart(transform=start, atlas_transform=at),
        )  # fmt: skip
        px, deg = residual_misalignment(again.transform, exp.case, exp.mask)
        out[name] = {"residual_px": px, "residual_deg": deg, "ll": again.history[-1]["ll"]}
        print(f"  {name:>30}: residual {px:5.2f} px {deg:5.2f} deg", flush=True)
    gain = out["atlas_from_truth_finest"]["ll"] - fit.history[-1]["ll"]
    out["truth_basin_ll_gain"] = gain
    print(f"  LL of the basin at the truth minus the chapter fit's: {gain:+.1f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 6])
    args = parser.parse_args()
    settings = select("standard", chapter.BUDGETS)
    rows = []
    for seed in args.seeds:
        exp = experiment.make_experiment(settings, seed, torch.device("cpu"))
        fit = experiment.fit_experiment(exp)
        truth = experiment.true_transform(exp.case, fit.transform.fixed, exp.images)
        # about the fit's rotation centre (the ROI's), so angles and shifts can be swapped in
        truth = truth.recentred(fit.transform.centre, *exp.images.shape[-2:])
        base = refit_ll(exp, fit, fit.transform)
        print(f"seed {seed}: LL at the fit {base:.1f}")
        row = {"seed": seed, "ll_fit": base, "sequences": {}}
        for i, name in enumerate(SEQUENCES):
            if bool(fit.transform.fixed[i]):
                continue
            mixed = fit.transform.clone()
            mixed.angle[i], mixed.shift[i] = truth.angle[i], truth.shift[i]
            gain = refit_ll(exp, fit, mixed) - base
            print(f"  {name:>5}: true {math.degrees(float(truth.angle[i])):6.2f} deg, fitted "
                  f"{math.degrees(float(fit.transform.angle[i])):6.2f} deg, "
                  f"LL gain at its truth {gain:+8.1f}")  # fmt: skip
            row["sequences"][name] = {
                "true_deg": math.degrees(float(truth.angle[i])),
                "fitted_deg": math.degrees(float(fit.transform.angle[i])),
                "ll_gain_at_truth": gain,
            }
        row["ll_gain_all_at_truth"] = refit_ll(exp, fit, truth) - base
        print(f"  all at the truth: LL gain {row['ll_gain_all_at_truth']:+.1f}", flush=True)
        row["from_truth"] = from_truth(exp, settings, truth, fit)
        rows.append(row)
    write_result("rotation", {"budget": "standard", "seeds": args.seeds, "rows": rows})


if __name__ == "__main__":
    main()

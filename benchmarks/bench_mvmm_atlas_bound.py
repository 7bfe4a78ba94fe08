"""Where the MvMM's error comes from: the atlas, the registration, or the appearance model.

For each seed, fits the chapter's MvMM (standard settings) four ways and prints myocardium Dice:
  chapter        the chapter's fit (atlas from other phantoms, transforms estimated);
  true T         the same atlas, sequence transforms fixed at the truth;
  own atlas      the case's own labels as atlas (smoothed like the chapter's), true transforms;
  bssfp alone    the chapter's single-sequence baseline;
  bssfp own      bSSFP alone with the case's own labels as atlas.
"own atlas" bounds what a perfect atlas registration could give with this appearance model;
"bssfp own" against it says whether T2 and LGE help the myocardial boundary once the prior is
perfect. The last columns count the false-positive myocardium pixels of those two fits and the
share of them lying within one pixel (in-plane) of the true myocardium: a partial-volume rim.

    python benchmarks/bench_mvmm_atlas_bound.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch
from bench_mvmm_json import write_result
from scipy import ndimage

from zmic_lessons.core.budget import select
from zmic_lessons.data.labels import SEQUENCES
from zmic_lessons.mvmm import chapter, evaluation, experiment
from zmic_lessons.mvmm.atlas import MYO_K, tissue_classes
from zmic_lessons.mvmm.optimise import FitStart, fit_mvmm
from zmic_lessons.mvmm.transforms import AtlasAffine, StackRigid


def false_positive_rim(segmentation: torch.Tensor, classes: np.ndarray) -> tuple[int, float]:
    """False-positive myocardium pixels and the share within 1 px (in-plane) of the truth."""
    truth = classes == MYO_K
    false_pos = (segmentation.cpu().numpy() == MYO_K) & ~truth
    near = ndimage.binary_dilation(truth, structure=np.ones((1, 3, 3), bool))
    n = int(false_pos.sum())
    return n, float((false_pos & near).sum() / max(n, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    settings = select("standard", chapter.BUDGETS)
    device = torch.device("cpu")
    rows = []
    print(f"{'seed':>4} {'chapter':>8} {'true T':>8} {'own atlas':>10} {'bssfp alone':>12} "
          f"{'bssfp own':>10} {'FP own (rim)':>14} {'FP bssfp own (rim)':>19}")  # fmt: skip
    for seed in args.seeds:
        exp = experiment.make_experiment(settings, seed, device)
        labels = exp.case.common_labels
        reference = StackRigid.identity(len(SEQUENCES), exp.images.shape[1], 0, device).fixed
        truth_t = experiment.true_transform(exp.case, reference, exp.images)
        fit = experiment.fit_experiment(exp)
        fixed_t = fit_mvmm(
            exp.images, exp.atlas, exp.active, slice_coverage=exp.slice_coverage, mask=exp.mask,
            config=dataclasses.replace(exp.config, register=False),
            start=FitStart(transform=truth_t, atlas_transform=exp.atlas_init),
        )  # fmt: skip
        own, own_mask = experiment.label_atlas(settings, labels, device)
        own_config = dataclasses.replace(exp.config, register=False, optimise_atlas=False)
        identity = AtlasAffine.identity(device, exp.images.dtype)
        own_fit = fit_mvmm(
            exp.images, own, exp.active, slice_coverage=exp.slice_coverage, mask=own_mask,
            config=own_config, start=FitStart(transform=truth_t, atlas_transform=identity),
        )  # fmt: skip
        own_single = fit_mvmm(
            exp.images[:1], own, exp.active[:1], slice_coverage=exp.slice_coverage[:1],
            mask=own_mask, config=own_config, start=FitStart(atlas_transform=identity),
        )  # fmt: skip
        single = experiment.fit_experiment(exp, [0])
        row = [evaluation.myo_dice(labels, f.segmentation) for f in (fit, fixed_t, own_fit)] + [
            evaluation.myo_dice(exp.case.labels["bssfp"], single.segmentation),
            evaluation.myo_dice(labels, own_single.segmentation),
        ]
        classes = tissue_classes(labels)
        fp_joint, rim_joint = false_positive_rim(own_fit.segmentation, classes)
        fp_single, rim_single = false_positive_rim(own_single.segmentation, classes)
        fp = f"{fp_joint:>7d} ({rim_joint:.2f}) {fp_single:>12d} ({rim_single:.2f})"
        print(f"{seed:>4} {row[0]:8.3f} {row[1]:8.3f} {row[2]:10.3f} {row[3]:12.3f} "
              f"{row[4]:10.3f} {fp}", flush=True)  # fmt: skip
        names = ("chapter", "true_transforms", "own_atlas", "bssfp_alone", "bssfp_own_atlas")
        rows.append(
            {
                "seed": seed,
                **dict(zip(names, row, strict=True)),
                "fp_own_atlas": fp_joint,
                "fp_rim_share_own_atlas": rim_joint,
                "fp_bssfp_own_atlas": fp_single,
                "fp_rim_share_bssfp_own_atlas": rim_single,
            }
        )
    write_result("atlas_bound", {"budget": "standard", "seeds": args.seeds, "rows": rows})


if __name__ == "__main__":
    main()

"""Why the joint MvMM does not beat bSSFP alone on the phantom: which sequence, which factor.

At the perfect-prior bound (the case's own labels as atlas, smoothed like the chapter's; every
sequence resampled with its true transforms; no registration), fits each subset of sequences
two ways and prints myocardium Dice with (false positives / false negatives) in pixels:

  per-sequence   the MvMM as in the paper: given the class, each sequence has its own mixture,
                 p(I | k) = prod_i sum_c tau_ikc N(I_i; mu_ikc, var_ikc);
  shared         one component index per class shared by all sequences (each component a
                 multivariate Gaussian with diagonal covariance; the lab's multi-component
                 bivariate Gaussian, which preceded the MvMM, shares components this way),
                 p(I | k) = sum_c tau_kc prod_i N(I_i; mu_ikc, var_ikc);
                 fitted as sub-classes that share their class's atlas, segmentation by the
                 class with the largest summed posterior.

A class made of several tissues (background: lung, fat, chest-wall muscle, pericardium; blood:
blood and trabeculae) pays its component weight once per sequence in the per-sequence form, so
a pixel of a minor tissue that looks like myocardium loses to the myocardium once per sequence.
The shared form pays it once. The gap between the rows is that effect; the gap between the
subsets is what each sequence adds.

    python benchmarks/bench_mvmm_factorisation.py [--seeds 0 1 2 3]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch
from bench_mvmm_json import write_result

from zmic_lessons.core.budget import select
from zmic_lessons.data.labels import SEQUENCES
from zmic_lessons.mvmm import chapter, experiment
from zmic_lessons.mvmm import settings as mvmm_settings
from zmic_lessons.mvmm.atlas import MYO_K, tissue_classes
from zmic_lessons.mvmm.model import MixtureParams, active_from_counts, init_params
from zmic_lessons.mvmm.optimise import FitConfig, FitStart, fit_mvmm
from zmic_lessons.mvmm.transforms import AtlasAffine

SUBSETS = (("bssfp",), ("bssfp", "t2"), ("bssfp", "lge"), ("bssfp", "t2", "lge"))


def shared_init(
    images: torch.Tensor,
    atlas: torch.Tensor,
    owner: np.ndarray,
    mask: torch.Tensor,
    var_floor: float,
) -> MixtureParams:
    """Initial sub-class parameters: means spread over each class's prior-weighted moments.

    Args:
        images: ``(S, Z, H, W)``; atlas: the *class* atlas ``(K, Z, H, W)``; owner: the class
            of each sub-class ``(K',)``; mask: ``(Z, H, W)``.

    Returns:
        Parameters of ``K'`` one-component sub-classes whose weights split each class's share
        equally, so every class starts with the prior mass the per-sequence form gives it.
    """
    n_classes = atlas.shape[0]
    sub = np.bincount(owner, minlength=n_classes)
    one = active_from_counts([[1] * n_classes] * images.shape[0], device=images.device)
    moments = init_params(images, atlas, one, mask=mask, var_floor=var_floor)
    mu, var = [], []
    for k in range(n_classes):
        n = int(sub[k])
        t = torch.linspace(-1.0, 1.0, n) if n > 1 else torch.zeros(1)
        sd = moments.var[:, k, 0].sqrt()
        for tc in t:
            mu.append(moments.mu[:, k, 0] + sd * tc)
            var.append((moments.var[:, k, 0] / n).clamp_min(var_floor))
    mu_t, var_t = torch.stack(mu, 1)[..., None], torch.stack(var, 1)[..., None]
    w = torch.tensor([1.0 / (n_classes * sub[k]) for k in owner], dtype=images.dtype)
    active = torch.ones_like(mu_t, dtype=torch.bool)
    return MixtureParams(w=w, tau=torch.ones_like(mu_t), mu=mu_t, var=var_t, active=active)


def scores(gamma: torch.Tensor, owner: np.ndarray, truth: np.ndarray) -> str:
    """Dice (FP/FN) of the class with the largest summed posterior."""
    index = torch.as_tensor(owner)
    summed = torch.stack([gamma[index == k].sum(0) for k in range(int(owner.max()) + 1)])
    seg = (summed.argmax(0) == MYO_K).cpu().numpy()
    fp, fn, tp = int((seg & ~truth).sum()), int((~seg & truth).sum()), int((seg & truth).sum())
    return f"{2 * tp / (2 * tp + fp + fn):.3f} ({fp}/{fn})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    settings = select("standard", chapter.BUDGETS)
    device = torch.device("cpu")
    # sub-classes per class in the shared form: the chapter's component counts
    shared_counts = np.max(mvmm_settings.components(settings.bg_components), axis=0)
    owner = np.repeat(np.arange(len(shared_counts)), shared_counts)
    print(f"{'seed':>4} {'form':>13} " + " ".join(f"{'+'.join(s):>18}" for s in SUBSETS))
    dice = {form: [] for form in ("per-sequence", "shared")}
    rows_out = []
    for seed in args.seeds:
        exp = experiment.make_experiment(settings, seed, device)
        labels = exp.case.common_labels
        truth = tissue_classes(labels) == MYO_K
        images = torch.tensor(np.stack([exp.case.common_images[s] for s in SEQUENCES]))
        atlas, mask = experiment.label_atlas(settings, labels, device)
        config: FitConfig = dataclasses.replace(exp.config, register=False, optimise_atlas=False)
        identity = AtlasAffine.identity(device, images.dtype)
        atlas_x = atlas[torch.as_tensor(owner)]
        for form in dice:
            row = []
            for subset in SUBSETS:
                idx = [SEQUENCES.index(s) for s in subset]
                kwargs = dict(
                    slice_coverage=exp.slice_coverage[idx], mask=mask, config=config,
                )  # fmt: skip
                if form == "per-sequence":
                    start = FitStart(atlas_transform=identity)
                    fit = fit_mvmm(images[idx], atlas, exp.active[idx], start=start, **kwargs)
                    row.append(scores(fit.gamma, np.arange(atlas.shape[0]), truth))
                else:
                    params = shared_init(images[idx], atlas, owner, mask, config.var_floor)
                    start = FitStart(atlas_transform=identity, params=params)
                    fit = fit_mvmm(images[idx], atlas_x, params.active, start=start, **kwargs)
                    row.append(scores(fit.gamma, owner, truth))
            dice[form].append([float(r.split()[0]) for r in row])
            rows_out.append({"seed": seed, "form": form, **dict(zip(
                ["+".join(s) for s in SUBSETS], row, strict=True))})  # fmt: skip
            print(f"{seed:>4} {form:>13} " + " ".join(f"{r:>18}" for r in row), flush=True)
    for form, rows in dice.items():
        mean = np.mean(rows, axis=0)
        print(f"{'mean':>4} {form:>13} " + " ".join(f"{v:>18.3f}" for v in mean))
    subsets = ["+".join(s) for s in SUBSETS]
    write_result(
        "factorisation",
        {
            "budget": "standard", "seeds": args.seeds, "subsets": subsets, "rows": rows_out,
            "mean": {form: dict(zip(subsets, np.mean(r, axis=0).tolist(), strict=True))
                     for form, r in dice.items()},
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()

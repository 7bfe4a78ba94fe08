"""Scores of an MvMM fit, with :mod:`zmic_lessons.core.metrics`: no fitting here.

Myocardium Dice (scar and oedema count as myocardium), scar and oedema Dice from the bright
myocardial components, and the misalignment left after registration.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..core.metrics import dice, dice_per_class
from ..data.acquisition import MisalignedCase
from ..data.labels import EDEMA, SCAR, SEQUENCES
from .atlas import MYO_K, tissue_classes
from .experiment import true_transform
from .model import bright_component_map
from .optimise import MvMMFit
from .transforms import StackRigid

__all__ = [
    "darkest_myocardial_mean",
    "myo_dice",
    "pathology_dice",
    "pathology_maps",
    "residual_misalignment",
]


def myo_dice(labels: Any, segmentation: Any) -> float:
    """Myocardium Dice of a segmentation against labels.

    Args:
        labels: Data labels (0..5: scar and oedema count as myocardium) or MvMM class maps
            (0..3; :func:`.tissue_classes` leaves them unchanged), array or tensor.
        segmentation: MvMM class map of the same shape.
    """
    truth = tissue_classes(labels)
    return dice_per_class(segmentation, truth, {"myocardium": MYO_K})["myocardium"]


def residual_misalignment(
    fit_transform: StackRigid, case: MisalignedCase, mask: torch.Tensor
) -> tuple[float, float]:
    """RMS displacement error over the ROI (pixels) and mean absolute angle error (degrees).

    Averaged over the non-reference sequences and their slices.
    """
    z, h, w = mask.shape
    true = true_transform(case, fit_transform.fixed)
    est = StackRigid(
        fit_transform.angle.detach().cpu().double(),
        fit_transform.shift.detach().cpu().double(),
        fit_transform.fixed.cpu(),
        None if fit_transform.centre is None else fit_transform.centre.cpu().double(),
    )
    diff = ((est.coords(h, w) - true.coords(h, w)) ** 2).sum(-1)  # (S, Z, H, W)
    moving = ~fit_transform.fixed.cpu()
    m = mask.cpu().double()[None]
    rms = float(torch.sqrt((diff[moving] * m).sum() / (m.sum() * int(moving.sum()))))
    angle_err = (est.angle - true.angle).abs()[moving]
    return rms, float(np.degrees(float(angle_err.mean())))


def pathology_maps(fit: MvMMFit) -> tuple[torch.Tensor, torch.Tensor]:
    """Scar (bright LGE myocardial component) and oedema (bright T2 one) on the full grid.

    Returns:
        ``(scar, oedema)``, each a float ``(Z, H, W)`` map in {0, 1}.
    """
    i_t2, i_lge = SEQUENCES.index("t2"), SEQUENCES.index("lge")
    scar = fit.embed(bright_component_map(fit.posteriors, fit.params, i_lge, MYO_K).float())
    edema = fit.embed(bright_component_map(fit.posteriors, fit.params, i_t2, MYO_K).float())
    return scar, edema


def pathology_dice(
    fit: MvMMFit, labels: np.ndarray, slices: np.ndarray | None = None
) -> tuple[float, float]:
    """Scar (bright LGE myocardium) and oedema (bright T2 myocardium) Dice in common space.

    Oedema is compared with scar + oedema (the phantom, like MyoPS, lets scar override
    oedema, and scarred tissue is oedematous in T2).

    Args:
        fit: A fitted MvMM with all three sequences.
        labels: Common-space data labels ``(Z, H, W)``.
        slices: Score only these slices (bool ``(Z,)``), e.g. those where T2 was acquired.
    """
    scar, edema = pathology_maps(fit)
    keep = slice(None) if slices is None else np.asarray(slices, dtype=bool)
    scar_np, edema_np, labels = scar.cpu().numpy()[keep], edema.cpu().numpy()[keep], labels[keep]
    d_scar = float(dice(scar_np > 0.5, labels == SCAR))
    d_edema = float(dice(edema_np > 0.5, (labels == SCAR) | (labels == EDEMA)))
    return d_scar, d_edema


def darkest_myocardial_mean(fit: MvMMFit, sequence: str) -> float:
    """Mean of the darkest myocardial component of one sequence (normal myocardium).

    A zero-filled sequence spends this component on the zeros: it drops to about 0.
    """
    params = fit.params
    i = SEQUENCES.index(sequence)
    mu = torch.where(params.active[i, MYO_K], params.mu[i, MYO_K], math.inf)
    return float(mu.min())

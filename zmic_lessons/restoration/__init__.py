"""Restoration chapter: RONet (rank-one decomposition + reconstruction) and BayeSR.

``from zmic_lessons import restoration as ch`` gives the notebook what it needs.
"""

from . import bayesr, degradation, evaluation, experiment, lessons, ronet
from .bayesr import BayeSR, Priors, bayesr_loss, elbo_terms, gamma_means, gradient_sq
from .chapter import BUDGETS, TITLE, Artifacts, Settings, run
from .degradation import add_noise, bicubic_upsample, downsample
from .evaluation import psnr_shaved, shave, ssim_shaved
from .lessons import (
    bayesr_maps,
    decomposition_frames,
    residual_energies,
    ro_components,
    svd_components,
    zoom,
)
from .restore import read_image, restore_file
from .ronet import RankOneProjection, RODec, RONet, residual_energy_loss

__all__ = [
    "BUDGETS",
    "TITLE",
    "Artifacts",
    "BayeSR",
    "Priors",
    "RODec",
    "RONet",
    "RankOneProjection",
    "Settings",
    "add_noise",
    "bayesr",
    "bayesr_loss",
    "bayesr_maps",
    "bicubic_upsample",
    "decomposition_frames",
    "degradation",
    "downsample",
    "elbo_terms",
    "evaluation",
    "experiment",
    "gamma_means",
    "gradient_sq",
    "lessons",
    "psnr_shaved",
    "read_image",
    "residual_energies",
    "residual_energy_loss",
    "restore_file",
    "ro_components",
    "ronet",
    "run",
    "shave",
    "ssim_shaved",
    "svd_components",
    "zoom",
]

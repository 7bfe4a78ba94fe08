"""MvMM chapter: multivariate mixture model for multi-sequence cardiac MR (Zhuang, TPAMI 2019).

Modules: :mod:`.model` (densities, E/M steps, log-likelihood, coverage), :mod:`.transforms`
(per-sequence / per-slice rigid transforms and resampling), :mod:`.atlas` (spatial prior),
:mod:`.placement` (initial atlas placement),
:mod:`.optimise` (EM + transform ascent on one objective), :mod:`.regnet` (MvMM-RegNet) and
:mod:`.chapter` (``run``).
"""

from .atlas import CLASSES, probabilistic_atlas, roi_mask, tissue_classes
from .model import (
    MixtureParams,
    Posteriors,
    active_from_counts,
    bright_component_map,
    e_step,
    em,
    init_params,
    intensity_force,
    log_likelihood,
    log_prior_from_atlas,
    m_step,
)
from .optimise import FitConfig, MvMMFit, fit_mvmm
from .placement import place_atlas, search_atlas_offset
from .transforms import AtlasAffine, StackRigid

__all__ = [
    "CLASSES",
    "AtlasAffine",
    "FitConfig",
    "MixtureParams",
    "MvMMFit",
    "Posteriors",
    "StackRigid",
    "active_from_counts",
    "bright_component_map",
    "e_step",
    "em",
    "fit_mvmm",
    "init_params",
    "intensity_force",
    "log_likelihood",
    "log_prior_from_atlas",
    "m_step",
    "place_atlas",
    "probabilistic_atlas",
    "roi_mask",
    "search_atlas_offset",
    "tissue_classes",
]

"""MvMM chapter: multivariate mixture model for multi-sequence cardiac MR (Zhuang, TPAMI 2019).

The notebook imports this package alone: ``from zmic_lessons import mvmm``.

Modules, by role:

- the method: :mod:`.model` (the reference math: densities, E-step, M-step, likelihood),
  :mod:`.em_fused` (the same EM iteration, fused and streamed: what the fit runs),
  :mod:`.transforms` (per-sequence / per-slice rigid transforms, the atlas's affine + FFD),
  :mod:`.atlas` (the spatial prior), :mod:`.placement` (initial atlas placement),
  :mod:`.ascent` (the transform update), :mod:`.atlas_gem` (the atlas transform's
  generalized-EM step), :mod:`.optimise` (EM + transform ascent on one objective; what it is
  given and returns in :mod:`.fit_types`), :mod:`.regnet` (MvMM-RegNet);
- the chapter: :mod:`.settings` (``Settings``, ``BUDGETS``, the one ``FitConfig`` builder),
  :mod:`.experiment` (phantom stack, atlas, placement, fits), :mod:`.real_data` (MyoPS, MS-CMRSeg),
  :mod:`.common_space` (real sequences resampled through their affines),
  :mod:`.regnet_experiment`, :mod:`.evaluation` (scores), :mod:`.lessons` (notebook helpers)
  and :mod:`.chapter` (``TITLE``, ``Artifacts``, ``run``).
"""

from ..data.labels import SEQUENCES
from .ascent import intensity_force, transform_ascent
from .atlas import CLASSES, LABEL_NAMES, MYO_K, probabilistic_atlas, roi_mask, tissue_classes
from .chapter import BUDGETS, TITLE, Artifacts, Settings, run
from .em_fused import em
from .evaluation import myo_dice, pathology_dice, pathology_maps, residual_misalignment
from .experiment import Experiment, fit_experiment, make_experiment, true_transform
from .lessons import (
    EMStep,
    class_densities,
    first_em_step,
    iteration_frames,
    observed_values,
    results_table,
    subset_dice,
)
from .model import (
    MixtureParams,
    Posteriors,
    active_from_counts,
    bright_component_map,
    e_step,
    init_params,
    log_likelihood,
    log_prior_from_atlas,
    m_step,
)
from .optimise import FitConfig, FitStart, MvMMFit, fit_mvmm
from .placement import PlacementSearch, place_atlas, search_atlas_offset
from .regnet import fuse_with_noise, mvmm_nll
from .settings import fit_config
from .transforms import AtlasAffine, StackRigid

__all__ = [
    "BUDGETS",
    "CLASSES",
    "LABEL_NAMES",
    "MYO_K",
    "SEQUENCES",
    "TITLE",
    "Artifacts",
    "AtlasAffine",
    "EMStep",
    "Experiment",
    "FitConfig",
    "FitStart",
    "MixtureParams",
    "MvMMFit",
    "PlacementSearch",
    "Posteriors",
    "Settings",
    "StackRigid",
    "active_from_counts",
    "bright_component_map",
    "class_densities",
    "e_step",
    "em",
    "first_em_step",
    "fit_config",
    "fit_experiment",
    "fit_mvmm",
    "fuse_with_noise",
    "init_params",
    "intensity_force",
    "iteration_frames",
    "log_likelihood",
    "log_prior_from_atlas",
    "m_step",
    "make_experiment",
    "mvmm_nll",
    "myo_dice",
    "observed_values",
    "pathology_dice",
    "pathology_maps",
    "place_atlas",
    "probabilistic_atlas",
    "residual_misalignment",
    "results_table",
    "roi_mask",
    "run",
    "search_atlas_offset",
    "subset_dice",
    "tissue_classes",
    "transform_ascent",
    "true_transform",
]

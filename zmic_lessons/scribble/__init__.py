"""Scribble chapter: CycleMix (Zhang & Zhuang, CVPR 2022) against partial cross-entropy.

Modules: :mod:`.cyclemix` (the losses and augmentations), :mod:`.settings` (``Settings``,
``BUDGETS``), :mod:`.experiment` (slices, batches, training with ``fit``), :mod:`.real`
(ACDC / MSCMRseg scribble files as slices), :mod:`.evaluation` (Dice), :mod:`.lessons`
(one step taken apart, figure arrays) and :mod:`.chapter` (``run``).

    from zmic_lessons import scribble as ch
"""

from .chapter import Artifacts, run, scribble_stats
from .cyclemix import (
    CycleMixConfig,
    CycleMixDraw,
    CycleMixStep,
    block_mix_mask,
    cosine_loss_map,
    cyclemix_step,
    global_consistency,
    largest_component_labels,
    local_consistency,
    mix,
    occlude,
    occlusion_mask,
    partial_cross_entropy,
    saliency_map,
    scribble_one_hot,
)
from .evaluation import dice_scores, evaluate, predict
from .experiment import (
    TrainedModel,
    build_model,
    make_experiment,
    method_config,
    train_method,
)
from .settings import BUDGETS, METHODS, Settings
from .slices import CLASS_NAMES, Experiment, SliceSet

__all__ = [
    "BUDGETS",
    "CLASS_NAMES",
    "Artifacts",
    "Experiment",
    "SliceSet",
    "TrainedModel",
    "build_model",
    "dice_scores",
    "evaluate",
    "make_experiment",
    "method_config",
    "predict",
    "run",
    "scribble_stats",
    "train_method",
    "METHODS",
    "CycleMixConfig",
    "CycleMixDraw",
    "CycleMixStep",
    "Settings",
    "block_mix_mask",
    "cosine_loss_map",
    "cyclemix_step",
    "global_consistency",
    "largest_component_labels",
    "local_consistency",
    "mix",
    "occlude",
    "occlusion_mask",
    "partial_cross_entropy",
    "saliency_map",
    "scribble_one_hot",
]

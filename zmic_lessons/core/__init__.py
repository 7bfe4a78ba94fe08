"""Shared ground floor: device, seeds, budgets, results, training loop, checkpoints, metrics."""

from .budget import BUDGETS, budget_from_env, check_budget, select
from .checkpoint import load_checkpoint, save_checkpoint, unwrap_model
from .device import describe_device, get_device
from .metrics import (
    as_numpy,
    assd,
    dice,
    dice_per_class,
    hausdorff,
    hausdorff95,
    psnr,
    ssim,
    surface_distances,
)
from .progress import progress, progress_enabled
from .results import Results, collect_versions, load_results
from .seed import make_rng, seed_everything, torch_generator
from .training import DistInfo, History, TrainOptions, checkpointing, dist_info, fit, move_to

__all__ = [
    "BUDGETS",
    "DistInfo",
    "History",
    "Results",
    "TrainOptions",
    "as_numpy",
    "assd",
    "budget_from_env",
    "check_budget",
    "checkpointing",
    "collect_versions",
    "describe_device",
    "dice",
    "dice_per_class",
    "dist_info",
    "fit",
    "get_device",
    "hausdorff",
    "hausdorff95",
    "load_checkpoint",
    "load_results",
    "make_rng",
    "move_to",
    "progress",
    "progress_enabled",
    "psnr",
    "save_checkpoint",
    "seed_everything",
    "select",
    "ssim",
    "surface_distances",
    "torch_generator",
    "unwrap_model",
]

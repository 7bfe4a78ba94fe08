"""Unsupervised domain adaptation (Wu & Zhuang): CF distance / CFDNet, VarDA, an adversarial
baseline. ``from zmic_lessons import adaptation as ch``."""

from .adversarial import AdversarialSeg, adversarial_loss
from .cf_distance import (
    cf_distance_marginal,
    cf_distance_sampled,
    empirical_cf,
    gaussian_kernel_distance,
    sample_frequencies,
    sinc_kernel,
)
from .cfdnet import CFDNet, cfdnet_loss
from .losses import balanced_cross_entropy, gaussian_kl, latent_samples, pool_posterior
from .networks import Discriminator, ReconDecoder, VAEUNet, gradient_reversal
from .settings import BUDGETS, METHODS, Settings
from .tasks import TASKS, AdaptationTask, DomainSet, phantom_task, real_task
from .varda import VarDA, gaussian_overlap, mixture_l2_distance, varda_loss

__all__ = [
    "BUDGETS",
    "METHODS",
    "TASKS",
    "AdaptationTask",
    "AdversarialSeg",
    "CFDNet",
    "Discriminator",
    "DomainSet",
    "ReconDecoder",
    "Settings",
    "VAEUNet",
    "VarDA",
    "adversarial_loss",
    "balanced_cross_entropy",
    "cf_distance_marginal",
    "cf_distance_sampled",
    "cfdnet_loss",
    "empirical_cf",
    "gaussian_kernel_distance",
    "gaussian_kl",
    "gaussian_overlap",
    "gradient_reversal",
    "latent_samples",
    "mixture_l2_distance",
    "phantom_task",
    "pool_posterior",
    "real_task",
    "sample_frequencies",
    "sinc_kernel",
    "varda_loss",
]

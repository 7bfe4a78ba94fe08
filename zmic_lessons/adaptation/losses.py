"""Loss terms shared by the chapter's methods: balanced cross-entropy, KL, reconstruction, and
the way a latent map becomes samples for a distribution distance."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "balanced_cross_entropy",
    "gaussian_kl",
    "latent_samples",
    "pool_posterior",
    "reconstruction_bce",
]


def balanced_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy with each class weighted by 1 / (its pixel count in the batch) (CFDNet, VarDA).

    Args:
        logits: ``(N, K, H, W)``.
        labels: ``(N, H, W)`` integers in ``0..K-1``.

    Returns:
        0-d tensor; classes absent from the batch get no weight.
    """
    k = logits.shape[1]
    counts = torch.bincount(labels.reshape(-1), minlength=k).to(logits.dtype)
    weight = torch.where(counts > 0, 1.0 / counts.clamp(min=1.0), torch.zeros_like(counts))
    weight = weight / weight.sum() * (counts > 0).sum()
    return F.cross_entropy(logits, labels, weight=weight)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """:math:`KL(N(\\mu, \\sigma^2) \\| N(0, 1))` averaged over all elements."""
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).mean()


def reconstruction_bce(recon: Tensor, image: Tensor) -> Tensor:
    """Binary cross-entropy of a reconstruction in (0, 1) against the image clamped to [0, 1]."""
    return F.binary_cross_entropy(recon.clamp(1e-6, 1 - 1e-6), image.clamp(0.0, 1.0))


def latent_samples(z: Tensor, pool: int, per_pixel: bool) -> Tensor:
    """A latent map as samples for a distance.

    Args:
        z: ``(N, C, H, W)``.
        pool: Average-pooling kernel (1: none).
        per_pixel: ``True``: every pooled pixel is a sample of ``C`` dimensions
            (``(N h w, C)``); ``False``: every image is a sample of ``C h w`` dimensions
            (``(N, C h w)``, the CFDNet code's layout).
    """
    if pool > 1:
        z = F.avg_pool2d(z, pool)
    if per_pixel:
        return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    return z.reshape(z.shape[0], -1)


def pool_posterior(mu: Tensor, logvar: Tensor, pool: int) -> tuple[Tensor, Tensor]:
    """Posterior of the ``pool x pool`` mean of ``z``: means average, variances average / pool².

    Returns:
        ``(mu, var)`` each ``(N, C, H / pool, W / pool)``.
    """
    var = logvar.exp()
    if pool <= 1:
        return mu, var
    return F.avg_pool2d(mu, pool), F.avg_pool2d(var, pool) / pool**2

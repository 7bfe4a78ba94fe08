"""VarDA (Wu & Zhuang, IEEE TMI 2021): domain adaptation by variational approximation.

Both domains share one encoder with a Gaussian posterior :math:`q(z|x)`; each domain has its own
image decoder. The source decoder sees ``z`` and the ground truth :math:`y_s`, the target decoder
``z`` and the predicted labels :math:`\\hat y_t`, so the target segmentation is trained through
reconstruction without target labels. The two aggregated posteriors
:math:`q_d(z) = \\frac1{N_d}\\sum_i N(z; \\mu_i, \\sigma_i^2)` are pulled together by their
closed-form L2 distance :func:`mixture_l2_distance`, weighted by :math:`\\beta`
(:math:`\\beta = 0` is the ablation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .losses import (
    balanced_cross_entropy,
    gaussian_kl,
    latent_samples,
    pool_posterior,
    reconstruction_bce,
)
from .networks import LatentOutput, ReconDecoder, VAEUNet

__all__ = ["VarDA", "gaussian_overlap", "mixture_l2_distance", "varda_loss"]


def gaussian_overlap(mu_a: Tensor, var_a: Tensor, mu_b: Tensor, var_b: Tensor) -> Tensor:
    """:math:`\\int N(z; a, A) N(z; b, B) dz = N(a; b, A + B)`, elementwise (broadcasting)."""
    var = var_a + var_b
    return torch.exp(-0.5 * (mu_a - mu_b) ** 2 / var) / torch.sqrt(2.0 * math.pi * var)


def _mean_overlap(mu_a: Tensor, var_a: Tensor, mu_b: Tensor, var_b: Tensor) -> Tensor:
    """Mean over pairs ``(i, j)`` of the overlap, per dimension: ``(N, D), (M, D)`` -> ``(D,)``."""
    return gaussian_overlap(mu_a[:, None], var_a[:, None], mu_b[None], var_b[None]).mean((0, 1))


def mixture_l2_distance(mu_s: Tensor, var_s: Tensor, mu_t: Tensor, var_t: Tensor) -> Tensor:
    """:math:`\\int (q_S(z) - q_T(z))^2 dz` of two equally weighted Gaussian mixtures, per
    dimension (marginals), averaged over dimensions.

    Args:
        mu_s: Source component means ``(N, D)``; var_s: their variances ``(N, D)``.
        mu_t: Target means ``(M, D)``; var_t: variances ``(M, D)``.

    Returns:
        0-d tensor :math:`\\frac1D\\sum_d [\\bar G_{SS} + \\bar G_{TT} - 2\\bar G_{ST}]_d`, with
        :math:`\\bar G` the pair-mean of :func:`gaussian_overlap` (0 for identical sets).
    """
    ss = _mean_overlap(mu_s, var_s, mu_s, var_s)
    tt = _mean_overlap(mu_t, var_t, mu_t, var_t)
    st = _mean_overlap(mu_s, var_s, mu_t, var_t)
    return (ss + tt - 2.0 * st).mean()


class VarDA(nn.Module):
    """Shared VAE-U-Net encoder, a source and a target image decoder (conditioned on labels).

    Args:
        n_classes: Classes ``K``.
        features: U-Net widths.
        latent: Latent channels.
    """

    def __init__(self, n_classes: int, features: Sequence[int] = (16, 32, 64), latent: int = 8):
        super().__init__()
        self.n_classes = n_classes
        self.encoder = VAEUNet(1, n_classes, features, latent)
        self.decoder_source = ReconDecoder(latent + n_classes, features[0])
        self.decoder_target = ReconDecoder(latent + n_classes, features[0])

    def forward(self, x: Tensor) -> Tensor:
        """Segmentation logits ``(N, K, H, W)`` (the deployed model)."""
        return self.encoder(x).logits


def _distance(out_s: LatentOutput, out_t: LatentOutput, pool: int, per_pixel: bool) -> Tensor:
    mu_s, var_s = pool_posterior(out_s.mu, out_s.logvar, pool)
    mu_t, var_t = pool_posterior(out_t.mu, out_t.logvar, pool)
    return mixture_l2_distance(
        latent_samples(mu_s, 1, per_pixel),
        latent_samples(var_s, 1, per_pixel),
        latent_samples(mu_t, 1, per_pixel),
        latent_samples(var_t, 1, per_pixel),
    )


def varda_loss(
    model: VarDA,
    xs: Tensor,
    ys: Tensor,
    xt: Tensor,
    *,
    beta: float,
    weights: dict[str, float],
    pool: int = 4,
    per_pixel: bool = True,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The VarDA objective on one source batch ``(xs, ys)`` and one target batch ``xt``.

    :math:`L = \\lambda_{seg} CE_{bal}(f(x_s), y_s) + \\lambda_{KL}(KL_S + KL_T)
    + \\lambda_{rec}[BCE(D_S(z_s, y_s), x_s) + \\alpha BCE(D_T(z_t, \\hat y_t), x_t)]
    + \\beta D_{L2}(q_S, q_T)`.

    Args:
        model: The :class:`VarDA` model.
        xs: ``(N, 1, H, W)`` source images; ys: ``(N, H, W)`` labels; xt: ``(M, 1, H, W)``.
        beta: Weight of the distance (0 = ablation).
        weights: ``seg``, ``kl``, ``rec``, ``alpha``.
        pool: Pooling of ``(mu, var)`` before the distance.
        per_pixel: Pooled pixels (True) or whole images (False) are the mixture components.

    Returns:
        ``(loss, parts)``.
    """
    out = model.encoder(torch.cat([xs, xt]))
    out_s, out_t = out.split(xs.shape[0])
    k = model.n_classes
    cond_s = nn.functional.one_hot(ys, k).permute(0, 3, 1, 2).to(xs)
    cond_t = out_t.logits.softmax(1)
    parts = {
        "seg": balanced_cross_entropy(out_s.logits, ys),
        "kl": gaussian_kl(out.mu, out.logvar),
        "rec_s": reconstruction_bce(model.decoder_source(torch.cat([out_s.z, cond_s], 1)), xs),
        "rec_t": reconstruction_bce(model.decoder_target(torch.cat([out_t.z, cond_t], 1)), xt),
    }
    if beta > 0:
        parts["dist"] = _distance(out_s, out_t, pool, per_pixel)
    else:  # the ablation: only logged, no gradient (and no backward cost)
        with torch.no_grad():
            parts["dist"] = _distance(out_s, out_t, pool, per_pixel)
    loss = (
        weights["seg"] * parts["seg"]
        + weights["kl"] * parts["kl"]
        + weights["rec"] * (parts["rec_s"] + weights["alpha"] * parts["rec_t"])
        + beta * parts["dist"]
    )
    return loss, parts

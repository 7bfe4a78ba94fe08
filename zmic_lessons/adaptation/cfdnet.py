"""CFDNet (Wu & Zhuang, IEEE TMI 2020): explicit domain adaptation with the CF distance.

A VAE-U-Net maps both domains into Gaussian latents ``z``; the segmentation head, trained on the
labelled source with balanced cross-entropy, sees only ``z``. The target latent also has to
reconstruct the target image (so it keeps the image's content), KL terms keep both posteriors
near :math:`N(0, I)`, and the CF distance between source and target latents
(:func:`.cf_distance.cf_distance_marginal`), plus a mean-matching term, aligns them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .cf_distance import cf_distance_marginal
from .losses import balanced_cross_entropy, gaussian_kl, latent_samples, reconstruction_bce
from .networks import ReconDecoder, VAEUNet

__all__ = ["CFDNet", "cfdnet_loss"]


class CFDNet(nn.Module):
    """VAE-U-Net segmenter plus a target image decoder.

    Args:
        n_classes: Classes ``K``.
        features: U-Net widths.
        latent: Latent channels.
    """

    def __init__(self, n_classes: int, features: Sequence[int] = (16, 32, 64), latent: int = 8):
        super().__init__()
        self.encoder = VAEUNet(1, n_classes, features, latent)
        self.decoder_target = ReconDecoder(latent, features[0])

    def forward(self, x: Tensor) -> Tensor:
        """Segmentation logits ``(N, K, H, W)`` (the deployed model)."""
        return self.encoder(x).logits


def cfdnet_loss(
    model: CFDNet,
    xs: Tensor,
    ys: Tensor,
    xt: Tensor,
    *,
    weights: dict[str, float],
    t_max: float,
    pool: int = 4,
    per_pixel: bool = True,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The CFDNet objective on one source batch ``(xs, ys)`` and one target batch ``xt``.

    :math:`L = \\lambda_{seg} CE_{bal}(f(x_s), y_s) + \\lambda_{KL}(KL_S + KL_T)
    + \\lambda_{rec} BCE(D_T(z_t), x_t) + \\lambda_{cf} D_{CF}(z_s, z_t)
    + \\lambda_{mean} \\|\\bar z_s - \\bar z_t\\|^2`.

    Args:
        model: The :class:`CFDNet`.
        xs: ``(N, 1, H, W)``; ys: ``(N, H, W)``; xt: ``(M, 1, H, W)``.
        weights: ``seg``, ``kl``, ``rec``, ``cf``, ``mean``.
        t_max: Band limit of the CF distance.
        pool: Average pooling of ``z`` before the distance.
        per_pixel: Pooled pixels (True) or whole images (False) are the samples.

    Returns:
        ``(loss, parts)``.
    """
    out = model.encoder(torch.cat([xs, xt]))
    out_s, out_t = out.split(xs.shape[0])
    zs = latent_samples(out_s.z, pool, per_pixel)
    zt = latent_samples(out_t.z, pool, per_pixel)
    parts = {
        "seg": balanced_cross_entropy(out_s.logits, ys),
        "kl": gaussian_kl(out.mu, out.logvar),
        "rec_t": reconstruction_bce(model.decoder_target(out_t.z), xt),
        "cf": cf_distance_marginal(zs, zt, t_max),
        "mean": ((zs.mean(0) - zt.mean(0)) ** 2).mean(),
    }
    loss = (
        weights["seg"] * parts["seg"]
        + weights["kl"] * parts["kl"]
        + weights["rec"] * parts["rec_t"]
        + weights["cf"] * parts["cf"]
        + weights["mean"] * parts["mean"]
    )
    return loss, parts

"""The networks of the chapter: a VAE-U-Net (Gaussian latent), reconstruction decoders and a
domain discriminator with gradient reversal. Built on the shared :class:`~zmic_lessons.nn.UNet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..nn import UNet, conv_layer, norm_layer

__all__ = [
    "Discriminator",
    "LatentOutput",
    "ReconDecoder",
    "VAEUNet",
    "gradient_reversal",
]


@dataclass
class LatentOutput:
    """What :class:`VAEUNet` returns for a batch ``(N, 1, H, W)``.

    Attributes:
        logits: ``(N, K, H, W)`` class scores computed from ``z``.
        mu: ``(N, C, H, W)`` posterior means.
        logvar: ``(N, C, H, W)`` posterior log-variances.
        z: ``(N, C, H, W)`` the sample ``mu + exp(logvar / 2) * eps`` (``mu`` in eval mode).
    """

    logits: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor

    def split(self, n: int) -> tuple[LatentOutput, LatentOutput]:
        """The first ``n`` items of the batch and the rest."""
        items = (self.logits, self.mu, self.logvar, self.z)
        return LatentOutput(*(t[:n] for t in items)), LatentOutput(*(t[n:] for t in items))


class VAEUNet(nn.Module):
    """U-Net whose last decoder features define a Gaussian posterior ``q(z|x)`` per pixel.

    The segmentation head sees only ``z``, so aligning the two domains' ``z`` aligns what the
    classifier sees (the full-resolution latent of CFDNet and VarDA; their 1/2 and 1/4 scale
    latents are left out here).

    Args:
        in_channels: Image channels.
        n_classes: Output classes ``K``.
        features: U-Net widths from full resolution to the bottleneck.
        latent: Latent channels ``C``.
        norm: Normalisation of the U-Net blocks.
        logvar_range: Log-variances are clamped to this range (stability).
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 4,
        features: Sequence[int] = (16, 32, 64),
        latent: int = 8,
        norm: str | None = "batch",
        logvar_range: tuple[float, float] = (-8.0, 2.0),
    ) -> None:
        super().__init__()
        self.unet = UNet(2, in_channels, latent, features, norm=norm)
        self.unet.head = nn.Identity()  # the latent heads below replace the U-Net's head
        width = features[0]
        self.mu = conv_layer(2, width, latent, 1)
        self.logvar = conv_layer(2, width, latent, 1)
        self.head = nn.Sequential(
            conv_layer(2, latent, width, 3), nn.LeakyReLU(0.01), conv_layer(2, width, n_classes, 1)
        )
        self.logvar_range = logvar_range
        self.latent = latent

    def features(self, x: Tensor) -> Tensor:
        """The U-Net's full-resolution decoder features ``(N, features[0], H, W)``."""
        xp, crop = self.unet._pad(x)
        feats = self.unet.decode(self.unet.encode(xp))[-1]
        return feats if crop is None else feats[crop]

    def forward(self, x: Tensor) -> LatentOutput:
        h = self.features(x)
        mu = self.mu(h)
        logvar = self.logvar(h).clamp(*self.logvar_range)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return LatentOutput(self.head(z), mu, logvar, z)


class ReconDecoder(nn.Module):
    """Image from a latent (and a label map): ``(N, C_in, H, W)`` -> ``(N, 1, H, W)`` in [0, 1].

    Three (conv 3x3, norm, LeakyReLU) layers and a 1x1 convolution with a sigmoid; the
    dilations (1, 2, 4) give it a receptive field of 15 pixels, as the references' dilated stacks.
    """

    def __init__(self, in_channels: int, width: int = 16, norm: str | None = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for d in (1, 2, 4):
            layers += [
                nn.Conv2d(c, width, 3, padding=d, dilation=d, bias=norm is None),
                norm_layer(norm, 2, width),
                nn.LeakyReLU(0.01),
            ]
            c = width
        layers += [conv_layer(2, width, 1, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(z)


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: float) -> Tensor:  # noqa: ANN001
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: ANN001
        return -ctx.weight * grad, None


def gradient_reversal(x: Tensor, weight: float = 1.0) -> Tensor:
    """Identity forward; multiplies the gradient by ``-weight`` backward (Ganin & Lempitsky)."""
    return _Reverse.apply(x, weight)


class Discriminator(nn.Module):
    """Patch discriminator: features ``(N, C, H, W)`` -> domain logits ``(N, 1, H/4, W/4)``."""

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)

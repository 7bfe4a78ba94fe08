"""Random intensity and style augmentation: a light stand-in for RST-Net.

AtrialGeneral's RST-Net restyles each training image towards a random centre with a
StarGAN-like generator. The stand-in draws the restyling at random instead of learning it:
a contrast curve (gamma), a smooth coil-bias field and noise, on every training slice, so that
the network sees more scanners than the three it is trained on. The test images are left as
they are.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["random_style"]


def _bias(n: int, h: int, w: int, strength: float, gen: torch.Generator) -> Tensor:
    """``(n, 1, h, w)`` fields ``exp(strength * p(y, x) / 2)``, ``p`` a random quadratic."""
    y = torch.linspace(-1, 1, h)[:, None].expand(h, w)
    x = torch.linspace(-1, 1, w)[None, :].expand(h, w)
    basis = torch.stack([y, x, y * y, x * x, x * y])  # (5, h, w)
    coef = torch.randn(n, 5, generator=gen) * torch.tensor([1.0, 0.6, 0.3, 0.3, 0.3])
    poly = torch.einsum("nk,khw->nhw", coef, basis)
    return torch.exp(strength * poly / 2.0)[:, None]


def random_style(
    x: Tensor,
    gen: torch.Generator,
    gamma: tuple[float, float] = (0.4, 2.5),
    bias: float = 0.6,
    noise: float = 0.25,
) -> Tensor:
    """Restyle a batch of z-scored slices at random (each keeps its mean and spread).

    Args:
        x: ``(N, 1, H, W)`` images (each z-scored over its volume), on the CPU.
        gen: Torch generator (the randomness of this call).
        gamma: Range of the contrast curve ``u ** g`` on min-max-scaled ``u``, ``g``
            log-uniform in it.
        bias: Strength of the multiplicative smooth field (0: none).
        noise: Largest standard deviation of added Gaussian noise, relative to the image's.

    Returns:
        ``(N, 1, H, W)`` float tensor, each slice with its input's mean and standard deviation.
    """
    n, _, h, w = x.shape
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    u = (x - lo) / (hi - lo).clamp_min(1e-6)
    log_g = torch.empty(n, 1, 1, 1).uniform_(math.log(gamma[0]), math.log(gamma[1]), generator=gen)
    u = u.clamp_min(0) ** log_g.exp()
    if bias > 0:
        u = u * _bias(n, h, w, bias, gen)
    if noise > 0:
        sd = torch.rand(n, 1, 1, 1, generator=gen) * noise * u.std(dim=(1, 2, 3), keepdim=True)
        u = u + sd * torch.randn(u.shape, generator=gen)
    # back to each slice's own mean and spread (the volume's z-score is kept)
    mean, std = u.mean(dim=(1, 2, 3), keepdim=True), u.std(dim=(1, 2, 3), keepdim=True)
    x_mean, x_std = x.mean(dim=(1, 2, 3), keepdim=True), x.std(dim=(1, 2, 3), keepdim=True)
    return (u - mean) / std.clamp_min(1e-6) * x_std + x_mean

"""The degradations the chapter inverts: blur + downsampling (SR) and white Gaussian noise.

``D`` is linear, known and differentiable: a Gaussian blur followed by an ``s x s`` box average
(the box centres each LR pixel on its ``s x s`` HR block, so bicubic upsampling with
``align_corners=False`` lands on the right grid). BayeSR learns its ``D`` (a KernelGAN-style
linear generator); the chapter fixes it and says so.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.ops import gaussian_blur

__all__ = ["add_noise", "bicubic_upsample", "downsample"]


def downsample(hr: Tensor, scale: int, blur_sigma: float) -> Tensor:
    """``D(x)``: Gaussian blur then ``scale x scale`` box average.

    Args:
        hr: ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``scale``.
        scale: Integer SR factor ``s`` (1 returns the blurred image).
        blur_sigma: Standard deviation of the blur in HR pixels (``<= 0``: no blur).

    Returns:
        ``(N, C, H / s, W / s)``.
    """
    if hr.shape[-1] % scale or hr.shape[-2] % scale:
        raise ValueError(f"image size {tuple(hr.shape[-2:])} is not a multiple of scale {scale}")
    blurred = gaussian_blur(hr, blur_sigma)
    return F.avg_pool2d(blurred, scale) if scale > 1 else blurred


def bicubic_upsample(lr: Tensor, scale: int, clip: bool = True) -> Tensor:
    """Bicubic ``x scale`` upsampling (``align_corners=False``), clipped to [0, 1] by default.

    Args:
        lr: ``(N, C, h, w)``.
        scale: Integer factor.
        clip: Clip to [0, 1] (the images' range).

    Returns:
        ``(N, C, h * scale, w * scale)``.
    """
    if scale == 1:
        return lr
    up = F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(0.0, 1.0) if clip else up


def add_noise(clean: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Additive white Gaussian noise (not clipped): ``clean + sigma * N(0, 1)``.

    Args:
        clean: Any shape, intensities in [0, 1].
        sigma: Standard deviation in the same units (25 / 255 for the classic sigma = 25).
        generator: Torch generator (the caller owns the seed).
    """
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + sigma * noise.to(clean.device)

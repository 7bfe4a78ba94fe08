"""Small operations every floor above uses, defined once: blur, one-hot, intensity scaling, noise.

A chapter that needs one of these imports it from here; it never writes its own copy.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_blur", "gaussian_kernel1d", "one_hot", "rician_noise", "scale_to_percentile"]


def gaussian_kernel1d(
    sigma: float, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> Tensor:
    """Normalised 1D Gaussian of radius ``ceil(3 sigma)`` (at least 1), shape ``(2r + 1,)``."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)`` images, replicate padding.

    Args:
        x: ``(N, C, H, W)`` float tensor.
        sigma: Standard deviation in pixels; ``<= 0`` returns ``x`` unchanged.

    Returns:
        ``(N, C, H, W)``, the same dtype and device.
    """
    if x.dim() != 4:
        raise ValueError(f"gaussian_blur expects (N, C, H, W), got {tuple(x.shape)}")
    if sigma <= 0:
        return x
    k = gaussian_kernel1d(sigma, dtype=x.dtype, device=x.device)
    radius = (k.numel() - 1) // 2
    n, c, h, w = x.shape
    y = F.pad(x.reshape(n * c, 1, h, w), (radius,) * 4, mode="replicate")
    y = F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w)


def one_hot(labels: Tensor, n_classes: int, dim: int = 1) -> Tensor:
    """Float one-hot of an integer label map, the class axis inserted at ``dim``.

    Args:
        labels: Integer tensor, values in ``0..n_classes-1`` (e.g. ``(N, H, W)``).
        n_classes: Number of classes ``K``.
        dim: Where the class axis goes (``1``: ``(N, K, H, W)``; ``0``: ``(K, ...)``).

    Raises:
        ValueError: A label outside ``0..n_classes-1``.
    """
    labels = labels.long()
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got {int(labels.min())}..{int(labels.max())}"
        )
    return F.one_hot(labels, n_classes).movedim(-1, dim).float()


def scale_to_percentile(image: np.ndarray, percentile: float = 99.5) -> tuple[np.ndarray, float]:
    """Divide by the ``percentile`` of the image (values land in about [0, 1]).

    Returns:
        The ``float32`` image and the scale it was divided by (1 if the percentile is <= 0).
    """
    scale = float(np.percentile(image, percentile))
    scale = scale if scale > 0 else 1.0
    return (np.asarray(image) / scale).astype(np.float32), scale


def rician_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the image plus complex Gaussian noise of std ``sigma`` per channel.

    Args:
        image: Real, non-negative magnitude image, any shape.
        sigma: Noise standard deviation of each of the real and imaginary channels.
        rng: The generator (the caller owns the seed).

    Returns:
        ``|image + n_re + i n_im|`` as ``float32``, the shape of ``image``.
    """
    image = np.asarray(image, dtype=np.float32)
    noise = rng.standard_normal((2, *image.shape), dtype=np.float32) * np.float32(sigma)
    return np.hypot(image + noise[0], noise[1]).astype(np.float32)

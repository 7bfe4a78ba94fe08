"""AtrialGeneral's intensity standardisation: z-score on the ROI, then histogram matching.

AtrialGeneral (Li et al., MICCAI 2021) crops every volume, z-scores it, and maps its intensities
onto the histogram of **one fixed reference volume** (``skimage.exposure.match_histograms``),
for training and test images alike. Nothing is learned. This module does the same in NumPy:
:func:`histogram_match` is the quantile mapping ``F_ref^{-1}(F_src(v))`` that
``match_histograms`` computes.

The region of interest comes from :func:`centre_roi`: a fixed physical box around the **image
centre**. The released AtrialGeneral code centres its test-time crop on the ground-truth label
(the centroid of the label in the middle slice); that leaks the answer into the input, so the
chapter never does it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["centre_roi", "histogram_match", "resample_to", "zscore"]


def zscore(image: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``(image - mean) / std`` over the whole array (the ROI), as ``float32``."""
    image = np.asarray(image, dtype=np.float32)
    return ((image - image.mean()) / max(float(image.std()), eps)).astype(np.float32)


def histogram_match(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map ``image`` so that its histogram is that of ``reference`` (quantile mapping).

    Each distinct value of ``image`` at empirical quantile ``q`` (the fraction of voxels at or
    below it, midpoint convention) takes the value of ``reference`` at the same quantile, by
    linear interpolation between the reference's sorted distinct values. Monotone: the order of
    intensities is kept, only their spacing changes. Idempotent: a matched image has the
    reference's values at the reference's quantiles, so matching it again changes nothing (up
    to ties).

    Args:
        image: Any shape (e.g. ``(Z, Y, X)``).
        reference: Any shape; only its histogram is used.

    Returns:
        ``float32`` array of ``image``'s shape.
    """
    src = np.asarray(image, dtype=np.float64).ravel()
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if src.size == 0 or ref.size == 0:
        raise ValueError("histogram_match: image and reference must not be empty")
    s_values, s_index, s_counts = np.unique(src, return_inverse=True, return_counts=True)
    r_values, r_counts = np.unique(ref, return_counts=True)
    s_quant = np.cumsum(s_counts) / src.size
    r_quant = np.cumsum(r_counts) / ref.size
    mapped = np.interp(s_quant, r_quant, r_values)
    return mapped[s_index].reshape(np.shape(image)).astype(np.float32)


def resample_to(
    volume: np.ndarray,
    spacing: Sequence[float],
    new_spacing: Sequence[float],
    order: int = 1,
) -> np.ndarray:
    """Resample a ``(Z, Y, X)`` volume from ``spacing`` to ``new_spacing`` (mm, same order).

    ``order=1`` (trilinear) for images, ``order=0`` (nearest) for label maps.
    """
    factors = [s / n for s, n in zip(spacing, new_spacing, strict=True)]
    if np.allclose(factors, 1.0):
        return np.asarray(volume)
    return ndimage.zoom(np.asarray(volume), factors, order=order, mode="nearest", grid_mode=True)


def centre_roi(volume: np.ndarray, shape: Sequence[int], fill: float = 0.0) -> np.ndarray:
    """The ``shape`` box around the centre of ``volume`` (cropped, or padded with ``fill``).

    It looks at the array's size only: no label, no intensity.
    """
    out = np.full(tuple(shape), fill, dtype=np.asarray(volume).dtype)
    src, dst = [], []
    for n, m in zip(volume.shape, shape, strict=True):
        start = (n - m) // 2
        if start >= 0:
            src.append(slice(start, start + m))
            dst.append(slice(0, m))
        else:
            src.append(slice(0, n))
            dst.append(slice(-start, -start + n))
    out[tuple(dst)] = volume[tuple(src)]
    return out

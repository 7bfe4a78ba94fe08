"""What the scanner does to a clean image: coil bias, k-space truncation, ghosting, noise.

Image formation, applied per sequence **in that sequence's own space**, after the clean
(noise-free, partial-volume) image has been formed:

1. multiply by a coil sensitivity / bias field (surface-coil falloff times a smooth random field);
2. Fourier transform and keep the acquired part of k-space: the central ``kspace_fraction`` of
   the phase-encode lines and, if the acquired resolution is coarser than the output pixel, the
   matching central part along both axes (zero filling: blur plus Gibbs ringing);
3. per phase-encode line phase errors (motion inconsistency between segments: ghosts);
4. complex Gaussian noise on the *acquired* k-space samples only (so zero-filled images have
   spatially correlated noise, as real ones do), then the magnitude (Rician statistics).

The phantom then divides each image by its 99.5th percentile
(:func:`~zmic_lessons.core.ops.scale_to_percentile`).

The smooth random fields (:func:`smooth_field`) also shape the phantom's anatomy.
:mod:`zmic_lessons.data.acquisition` re-exports every public name of this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import fft as sfft

from ..core.ops import scale_to_percentile

# --------------------------------------------------------------------------- smooth fields


@functools.lru_cache(maxsize=64)
def bspline_matrix(n_out: int, n_ctrl: int) -> np.ndarray:
    """Cubic B-spline interpolation weights from ``n_ctrl`` control points to ``n_out`` samples.

    The control points span the samples with one extra point outside each end, so the field
    is smooth up to the border.

    Returns:
        ``float32`` (n_out, n_ctrl); rows sum to 1. Cached: do not modify.
    """
    if n_ctrl < 4:
        raise ValueError(f"need at least 4 control points, got {n_ctrl}")
    t = np.linspace(0.0, n_ctrl - 3, n_out) + 1.0  # positions in control-point units
    i = np.floor(t).astype(int)
    u = t - i
    basis = np.stack(
        [
            (1 - u) ** 3 / 6,
            (3 * u**3 - 6 * u**2 + 4) / 6,
            (-3 * u**3 + 3 * u**2 + 3 * u + 1) / 6,
            u**3 / 6,
        ],
        axis=1,
    )
    mat = np.zeros((n_out, n_ctrl), np.float64)
    for k in range(4):
        idx = np.clip(i - 1 + k, 0, n_ctrl - 1)
        np.add.at(mat, (np.arange(n_out), idx), basis[:, k])
    out = mat.astype(np.float32)
    out.flags.writeable = False
    return out


def smooth_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    n_ctrl: int | tuple[int, int],
    std: float = 1.0,
) -> np.ndarray:
    """A smooth random 2D field: Gaussian control points through cubic B-splines.

    Args:
        rng: Random generator.
        shape: Output (H, W).
        n_ctrl: Control points per axis (larger = finer detail), or (ny, nx).
        std: Standard deviation of the control values (the field's std is about 0.6 of it).

    Returns:
        ``float32`` (H, W).
    """
    ny, nx = (n_ctrl, n_ctrl) if isinstance(n_ctrl, int) else n_ctrl
    ctrl = rng.normal(0.0, std, size=(ny, nx)).astype(np.float32)
    return bspline_matrix(shape[0], ny) @ ctrl @ bspline_matrix(shape[1], nx).T


def bias_field(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    pixel_mm: float,
    strength: float = 0.2,
    coil_falloff: float = 0.5,
) -> np.ndarray:
    """Multiplicative receive-coil bias: surface-coil falloff times a smooth random field.

    The anterior (and weaker posterior) coil arrays make the signal fall from the chest wall
    towards the heart and rise again near the spine; the axis is tilted at random.

    Args:
        shape: (H, W).
        rng: Random generator.
        pixel_mm: Pixel size (mm), so the falloff has a physical length.
        strength: Standard deviation of the smooth log-field.
        coil_falloff: 0 = none, 1 = strong surface-coil gradient.

    Returns:
        ``float32`` (H, W), about 1 at the image centre (range roughly 0.5-1.8).
    """
    h, w = shape
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2) * pixel_mm
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) * pixel_mm
    tilt = rng.uniform(-0.5, 0.5)
    depth = np.cos(tilt) * y[:, None] + np.sin(tilt) * x[None, :]  # mm, negative = anterior
    length = 110.0
    log_coil = coil_falloff * (-0.55 * depth / length + 0.25 * (depth / length) ** 2)
    log_rand = smooth_field(rng, shape, 4, std=strength)
    log_b = log_coil + log_rand
    log_b -= log_b[h // 2 - h // 8 : h // 2 + h // 8, w // 2 - w // 8 : w // 2 + w // 8].mean()
    return np.exp(log_b).astype(np.float32)


# --------------------------------------------------------------------------- acquisition


@dataclass
class SequenceAcquisition:
    """Acquisition settings of one sequence for one case (all the randomness made explicit).

    Attributes:
        sigma: Noise standard deviation per real/imaginary channel, in signal units.
        kspace_fraction: Fraction of phase-encode lines kept (centred).
        resolution_fraction: Fraction of k-space kept along both axes (acquired / output
            resolution), 1 = full.
        pe_axis: Phase-encode axis of the (H, W) image: 0 (rows, y) or 1 (columns, x).
        bias_strength: Std of the smooth log-bias.
        coil_falloff: Surface-coil falloff strength.
        ghosting: Std (radians) of the per-line phase error.
    """

    sigma: float
    kspace_fraction: float = 1.0
    resolution_fraction: float = 1.0
    pe_axis: int = 1
    bias_strength: float = 0.2
    coil_falloff: float = 0.5
    ghosting: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _centre_mask(n: int, fraction: float) -> np.ndarray:
    keep = max(2, int(round(n * min(max(fraction, 0.0), 1.0))))
    mask = np.zeros(n, bool)
    start = (n - keep) // 2
    mask[start : start + keep] = True
    return np.fft.ifftshift(mask)


def _kspace_sampling(
    shape: tuple[int, int], settings: SequenceAcquisition
) -> tuple[tuple[int, ...], np.ndarray]:
    """The FFT axes and the mask of acquired k-space samples (unshifted, broadcastable).

    At full resolution only the phase-encode axis is cut, so a 1D FFT along it suffices.
    """
    h, w = shape
    pe, res = settings.pe_axis, settings.resolution_fraction
    my = _centre_mask(h, res * (settings.kspace_fraction if pe == 0 else 1.0))
    mx = _centre_mask(w, res * (settings.kspace_fraction if pe == 1 else 1.0))
    if res < 1.0:
        return (-2, -1), my[:, None] & mx[None, :]
    if pe == 0:
        return (-2,), my[:, None]
    return (-1,), mx[None, :]


def _ghost_ramp(
    rng: np.random.Generator, shape: tuple[int, int], settings: SequenceAcquisition
) -> np.ndarray:
    """Per phase-encode line phase error (a periodic part plus noise), as a k-space factor."""
    pe = settings.pe_axis
    n_pe = shape[0] if pe == 0 else shape[1]
    lines = np.arange(n_pe)
    period = rng.uniform(3.0, 9.0)
    phase = settings.ghosting * (
        2.0 * np.sin(2 * np.pi * lines / period + rng.uniform(0, 2 * np.pi))
        + rng.normal(0.0, 1.0, n_pe)
    )
    ramp = np.exp(1j * phase).astype(np.complex64)
    return ramp[:, None] if pe == 0 else ramp[None, :]


def acquire(
    clean: np.ndarray,
    settings: SequenceAcquisition,
    rng: np.random.Generator,
    *,
    pixel_mm: float,
) -> np.ndarray:
    """Turn a clean magnitude image (stack) into an acquired magnitude image.

    Args:
        clean: ``(Z, H, W)`` or ``(H, W)`` non-negative signal (noise-free, partial volume).
        settings: Noise, k-space, bias and ghosting settings.
        rng: Random generator (bias, ghost phases, noise).
        pixel_mm: In-plane pixel size (mm), for the bias field.

    Returns:
        ``float32`` magnitude of the same shape, in the same signal units (not normalised).
    """
    squeeze = clean.ndim == 2
    vol = clean[None] if squeeze else clean
    z, h, w = vol.shape
    bias = bias_field(
        (h, w),
        rng,
        pixel_mm=pixel_mm,
        strength=settings.bias_strength,
        coil_falloff=settings.coil_falloff,
    )
    axes, mask = _kspace_sampling((h, w), settings)
    n_total = int(np.prod([vol.shape[a] for a in axes]))
    kept = float(mask.sum()) / mask.size
    k = sfft.fftn((vol * bias).astype(np.float32), axes=axes)
    if settings.ghosting > 0:
        k *= _ghost_ramp(rng, (h, w), settings)
    # Complex noise on the acquired samples only, scaled so that the image-space std per
    # channel is ``sigma`` (zero filling then makes it spatially correlated, as in real data).
    sigma_k = settings.sigma * np.sqrt(n_total / kept)
    noise = rng.standard_normal((2, z, h, w), dtype=np.float32)
    k += sigma_k * (noise[0] + 1j * noise[1])
    k *= mask
    img = np.abs(sfft.ifftn(k, axes=axes)).astype(np.float32)
    return img[0] if squeeze else img


#: The old name of :func:`zmic_lessons.core.ops.scale_to_percentile` (kept for importers).
normalise = scale_to_percentile

"""Contrast-enhanced cardiac CT of the phantom's anatomy, in Hounsfield units.

Because the phantom's anatomy is generated separately from its appearance
(:func:`zmic_lessons.data.cardiac.simulate_anatomy`), the same anatomy can be rendered as MR at
any preset (:func:`zmic_lessons.data.cardiac.render_mr`) or as CT (:func:`render_ct`): the
labels are shared, only the appearance moves.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..core.seed import make_rng
from .cardiac import Anatomy, CardiacCase, regenerate_anatomy
from .physics import Tissue, ct_lookup


def render_ct(
    anatomy: Anatomy | CardiacCase,
    seed: int | np.random.Generator,
    *,
    noise_hu: tuple[float, float] = (12.0, 30.0),
    psf_mm: tuple[float, float] = (0.6, 1.2),
    contrast_scale: tuple[float, float] = (0.8, 1.2),
) -> np.ndarray:
    """Contrast-enhanced cardiac CT of the same anatomy, in Hounsfield units.

    Per-tissue HU (:data:`physics.CT_HU`; blood pool scaled by the bolus ``contrast_scale``),
    tissue texture, partial volume by averaging the supersampled map, a Gaussian PSF and
    Gaussian noise. No bias field (CT has none).

    Args:
        anatomy: An :class:`~zmic_lessons.data.cardiac.Anatomy`, or a ``CardiacCase`` whose
            anatomy is regenerated from ``case.info`` (same seed, same geometry).
        seed: Seed or generator for the appearance (the anatomy is fixed).
        noise_hu: Range of the noise standard deviation (HU).
        psf_mm: Range of the PSF standard deviation (mm).
        contrast_scale: Range of the factor on the enhanced blood HU.

    Returns:
        ``float32`` (Z, H, W) in HU, on the anatomy's output grid (same as its labels).
    """
    if not isinstance(anatomy, Anatomy):
        anatomy = regenerate_anatomy(anatomy)
    rng = make_rng(seed)
    lut = ct_lookup()
    lut[Tissue.BLOOD] = lut[Tissue.BLOOD] * rng.uniform(*contrast_scale)
    hu_hi = lut[anatomy.tissue]
    # texture: soft tissue only (air and lung keep their HU), a few HU
    soft = hu_hi > -300
    hu_hi = np.where(soft, hu_hi + 15.0 * (anatomy.texture - 1.0) / 0.05, hu_hi)
    hu = anatomy.pool(hu_hi.astype(np.float32))
    sigma_px = rng.uniform(*psf_mm) / anatomy.spacing[1]
    out = np.empty_like(hu)
    for z in range(hu.shape[0]):
        out[z] = ndimage.gaussian_filter(hu[z], sigma_px, mode="nearest")
    out += rng.normal(0.0, rng.uniform(*noise_hu), size=out.shape).astype(np.float32)
    return out.astype(np.float32)


def ct_window(hu: np.ndarray, level: float = 100.0, width: float = 700.0) -> np.ndarray:
    """Map HU to [0, 1] with a display window (default: mediastinal/cardiac window)."""
    lo = level - width / 2
    return np.clip((np.asarray(hu, np.float32) - lo) / width, 0.0, 1.0)

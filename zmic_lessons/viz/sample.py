"""A small analytic sample volume, so the viewers can be shown without any data set."""

from __future__ import annotations

import numpy as np

#: Class names of :func:`sample_volume`'s labels (index = label value).
SAMPLE_LABELS: tuple[str, ...] = ("background", "LV", "Myo", "RV")
#: Default voxel spacing of :func:`sample_volume` in mm, ``(slice, row, col)``.
SAMPLE_SPACING: tuple[float, float, float] = (5.0, 1.5, 1.5)


def sample_volume(
    shape: tuple[int, int, int] = (20, 96, 96),
    spacing: tuple[float, float, float] = SAMPLE_SPACING,
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic cartoon of a short-axis cardiac stack: nested ellipsoids with labels.

    A left-ventricular blood pool (bright) inside a myocardial shell (dark), a crescent-shaped
    right ventricle beside it, in a body of medium intensity with a smooth bias field and a
    fixed texture. Nothing is random, so every build shows the same picture.

    Args:
        shape: Volume shape ``(slices, rows, cols)``.
        spacing: Voxel spacing in mm, same axis order.

    Returns:
        ``(image, labels)``: ``image`` float32 ``shape`` in roughly 0..1, ``labels`` uint8
        ``shape`` with classes named in :data:`SAMPLE_LABELS`.
    """
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be 3 positive sizes, got {shape!r}")
    # coordinates in mm, centred
    z, y, x = (
        (np.arange(n, dtype=np.float32) - (n - 1) / 2) * s
        for n, s in zip(shape, spacing, strict=True)
    )
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    half_z = max(shape[0] * spacing[0] / 2, 1e-3)

    def inside(cz: float, cy: float, cx: float, rz: float, ry: float, rx: float) -> np.ndarray:
        return ((zz - cz) / rz) ** 2 + ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0

    body = inside(0, 0, 0, 4 * half_z, 0.46 * np.ptp(y) + 1, 0.46 * np.ptp(x) + 1)
    epi = inside(-0.1 * half_z, 0, 6, 0.95 * half_z, 26, 24)
    endo = inside(-0.1 * half_z, 0, 6, 0.8 * half_z, 17, 15)
    rv = inside(-0.15 * half_z, 4, -22, 0.75 * half_z, 26, 14) & ~epi

    labels = np.zeros(shape, dtype=np.uint8)
    labels[epi] = 2
    labels[endo] = 1
    labels[rv] = 3

    image = np.where(body, 0.35, 0.02).astype(np.float32)
    image[labels == 2] = 0.22
    image[labels == 1] = 0.85
    image[labels == 3] = 0.75
    bias = 1.0 + 0.15 * (xx / (np.abs(x).max() + 1e-6)) - 0.1 * (yy / (np.abs(y).max() + 1e-6))
    texture = 0.04 * np.sin(0.9 * xx) * np.cos(0.7 * yy) + 0.02 * np.sin(0.5 * (xx + yy) + zz)
    image = (image * bias + texture * body).astype(np.float32)
    return image, labels

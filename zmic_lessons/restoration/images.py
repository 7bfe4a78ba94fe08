"""Read a user's image for the restoration chapter: a PNG, or one slice of a NIfTI volume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import read_nifti

__all__ = ["ImageMeta", "is_nifti", "read_image"]


@dataclass(frozen=True)
class ImageMeta:
    """How to write a restored image back: the format, its scale and (NIfTI) geometry.

    Attributes:
        kind: ``"png"`` or ``"nifti"``.
        lo, hi: The intensities mapped to 0 and 1.
        spacing: In-plane pixel size (mm) of a NIfTI slice ``(y, x)``; ``None`` for PNG.
        slice_index: The NIfTI slice read.
    """

    kind: str
    lo: float
    hi: float
    spacing: tuple[float, float] | None = None
    slice_index: int | None = None


def is_nifti(path: Path) -> bool:
    return path.name.endswith(".nii") or path.name.endswith(".nii.gz")


def read_image(path: str | Path, slice_index: int | None = None) -> tuple[np.ndarray, ImageMeta]:
    """Read a PNG (grey or colour, turned grey) or one axial slice of a NIfTI file.

    Intensities are mapped to [0, 1]: 8-bit PNGs by 255, anything else between its 0.5th and
    99.5th percentiles (clipped).

    Returns:
        ``(image float32 (H, W), meta)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input image not found: {path}")
    if is_nifti(path):
        img = read_nifti(path)
        array = img.array if img.ndim == 2 else img.array.reshape(-1, *img.array.shape[-2:])
        index = None
        if array.ndim == 3:
            index = array.shape[0] // 2 if slice_index is None else slice_index
            array = array[index]
        spacing = (float(img.spacing[-2]), float(img.spacing[-1]))
        return _unit(array, "nifti", spacing, index)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: expected a .png, .nii or .nii.gz file")
    from skimage.io import imread

    array = imread(path)
    if array.ndim == 3:
        weights = np.array([0.299, 0.587, 0.114])
        array = array[..., :3] @ weights
    if array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating) and array.max() > 1:
        return (np.clip(array / 255.0, 0, 1)).astype(np.float32), ImageMeta("png", 0.0, 255.0)
    return _unit(array, "png", None, None)


def _unit(
    array: np.ndarray, kind: str, spacing: tuple[float, float] | None, index: int | None
) -> tuple[np.ndarray, ImageMeta]:
    array = np.asarray(array, dtype=np.float64)
    lo, hi = (float(v) for v in np.percentile(array, [0.5, 99.5]))
    hi = hi if hi > lo else lo + 1.0
    image = np.clip((array - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    return image, ImageMeta(kind, lo, hi, spacing, index)

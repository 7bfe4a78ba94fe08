"""Probabilistic atlas (the spatial prior of Q4) and the MvMM tissue classes.

MvMM segments four tissues; the phantom's pathology labels fold into the myocardium because
scar and oedema are *components* of the myocardial class, not classes of their own.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.ops import one_hot
from .transforms import gaussian_smooth2d

#: MvMM tissue classes, in order.
CLASSES: tuple[str, ...] = ("background", "lv_blood", "myocardium", "rv_blood")
BACKGROUND_K, LV_K, MYO_K, RV_K = range(4)
#: Class names for the viewers (:mod:`zmic_lessons.viz` fixes each one's colour by name).
LABEL_NAMES: dict[int, str] = {LV_K: "LV blood pool", MYO_K: "myocardium", RV_K: "RV blood pool"}

# Data labels (zmic_lessons.data.labels): BACKGROUND, LV, MYO, RV, SCAR, EDEMA = 0..5.
_LABEL_TO_CLASS = np.array([BACKGROUND_K, LV_K, MYO_K, RV_K, MYO_K, MYO_K], dtype=np.int64)


def tissue_classes(labels: np.ndarray | Tensor) -> np.ndarray:
    """Map data labels (0..5: background, LV, myocardium, RV, scar, oedema) to MvMM classes.

    Args:
        labels: Integer label map of any shape.

    Returns:
        ``int64`` array of the same shape with values in ``0..3`` (see :data:`CLASSES`).
    """
    arr = labels.cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if arr.size and (arr.min() < 0 or arr.max() >= len(_LABEL_TO_CLASS)):
        raise ValueError(f"labels must lie in 0..5, got range {arr.min()}..{arr.max()}")
    return _LABEL_TO_CLASS[arr.astype(np.int64)]


def probabilistic_atlas(
    class_maps: list[np.ndarray] | np.ndarray,
    sigma: float = 2.0,
    floor: float = 1e-3,
    device=None,
    dtype=torch.float32,
) -> Tensor:
    """Average one-hot class maps, smooth in-plane and floor: a strictly positive prior.

    Args:
        class_maps: One or more MvMM class maps (``0..3``), each ``(Z, H, W)``.
        sigma: Gaussian smoothing in pixels (the MvMM demo uses 2).
        floor: Smallest probability, so that ``log A_k`` stays finite.

    Returns:
        ``(K, Z, H, W)`` probabilities summing to 1 over ``K``.
    """
    maps = [class_maps] if isinstance(class_maps, np.ndarray) else list(class_maps)
    if not maps:
        raise ValueError("probabilistic_atlas needs at least one class map")
    acc = None
    for m in maps:
        oh = one_hot(torch.as_tensor(np.asarray(m), device=device), len(CLASSES), dim=0).to(dtype)
        acc = oh if acc is None else acc + oh
    atlas = gaussian_smooth2d(acc / len(maps), sigma)
    atlas = atlas.clamp_min(0) + floor
    return atlas / atlas.sum(0, keepdim=True)


def roi_mask(atlas: Tensor, threshold: float = 0.05, margin: int = 6) -> Tensor:
    """Region of interest: where the heart is likely, dilated by ``margin`` pixels per slice.

    Args:
        atlas: ``(K, Z, H, W)``.

    Returns:
        Float mask ``(Z, H, W)`` in {0, 1}.
    """
    fg = (1.0 - atlas[BACKGROUND_K]) > threshold
    x = fg.float()[:, None]
    if margin > 0:
        x = F.max_pool2d(x, kernel_size=2 * margin + 1, stride=1, padding=margin)
    return x[:, 0]


def heart_offset(class_map: np.ndarray) -> tuple[int, int]:
    """Whole-pixel ``(dy, dx)`` that centres the left ventricle of a ``(Z, H, W)`` class map.

    The left ventricle is its blood pool and myocardium; ``(0, 0)`` if there is none.
    """
    heart = (class_map == LV_K) | (class_map == MYO_K)
    if not heart.any():
        return 0, 0
    _, ys, xs = np.nonzero(heart)
    h, w = class_map.shape[-2:]
    return int(round((h - 1) / 2.0 - ys.mean())), int(round((w - 1) / 2.0 - xs.mean()))


def shift_pixels(array: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate the last two axes by whole pixels, filling with zeros."""
    h, w = array.shape[-2:]
    out = np.zeros_like(array)
    src = array[..., max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[..., max(0, dy) : max(0, dy) + src.shape[-2], max(0, dx) : max(0, dx) + src.shape[-1]] = src
    return out


def centre_on_heart(class_map: np.ndarray) -> np.ndarray:
    """Translate a ``(Z, H, W)`` class map (whole pixels) so the left ventricle is central.

    Atlas cases differ in where the heart lies; centring them before averaging keeps the
    probabilistic atlas sharp. The remaining offset to a target is found by
    :func:`zmic_lessons.mvmm.placement.place_atlas`.
    """
    return shift_pixels(class_map, *heart_offset(class_map))


def intensity_template(
    images: list[np.ndarray], class_maps: list[np.ndarray], device=None, dtype=torch.float32
) -> Tensor:
    """Mean of the atlas cases' images, each centred like its class map.

    The image that goes with :func:`probabilistic_atlas` of the centred class maps: what
    :func:`zmic_lessons.mvmm.placement.place_atlas` matches to the target to place the atlas.

    Args:
        images: One ``(Z, H, W)`` image per atlas case (the reference sequence).
        class_maps: Their MvMM class maps, same shapes.

    Returns:
        ``(Z, H, W)`` mean image.
    """
    if not images or len(images) != len(class_maps):
        raise ValueError(f"need one class map per image, got {len(images)} and {len(class_maps)}")
    centred = [
        shift_pixels(np.asarray(im, np.float32), *heart_offset(cm))
        for im, cm in zip(images, class_maps, strict=True)
    ]
    return torch.as_tensor(np.mean(centred, axis=0), device=device, dtype=dtype)

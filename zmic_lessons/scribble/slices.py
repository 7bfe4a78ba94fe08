"""The scribble chapter's 2D windows: what both the phantom and the real-data paths produce.

Padding is never supervised: a window that reaches past the image is filled with zeros in the
image and with :data:`UNLABELLED` in the scribbles, and ``valid`` marks the real pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from ..data.labels import LV, MYO, RV
from ..data.scribbles import UNLABELLED

__all__ = [
    "CLASS_NAMES",
    "FOREGROUND",
    "N_CLASSES",
    "Experiment",
    "SliceSet",
    "crop_window",
    "heart_centre",
    "make_slices",
]

N_CLASSES = 4
#: Class index -> name (phantom codes: 1 LV, 2 myocardium, 3 RV).
CLASS_NAMES: tuple[str, ...] = ("background", "lv", "myo", "rv")
FOREGROUND: dict[str, int] = {"lv": LV, "myo": MYO, "rv": RV}


@dataclass
class SliceSet:
    """2D windows ready for the network.

    Attributes:
        images: ``(N, 1, S, S)`` float32, z-scored per slice over its real pixels.
        labels: ``(N, S, S)`` int64 dense labels (0-3), or ``None`` where the data has none.
        scribbles: ``(N, S, S)`` uint8 scribbles (:data:`UNLABELLED` where none), or ``None``.
        valid: ``(N, S, S)`` bool, False on padding.
        names: Source of each slice (``"phantom 12"``, ``"patient001_ED z=4"``).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    scribbles: torch.Tensor | None
    valid: torch.Tensor
    names: list[str]

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class Experiment:
    """Train (windows of ``crop + 2 * jitter``), validation and test (``crop``) slices."""

    train: SliceSet
    val: SliceSet
    test: SliceSet
    source: str


def crop_window(array: np.ndarray, centre: tuple[int, int], size: int, fill: float) -> np.ndarray:
    """A ``size x size`` window of a 2D array centred at ``centre``, padded with ``fill``."""
    out = np.full((size, size), fill, dtype=array.dtype)
    top, left = centre[0] - size // 2, centre[1] - size // 2
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + size, array.shape[0]), min(left + size, array.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0 - top : r1 - top, c0 - left : c1 - left] = array[r0:r1, c0:c1]
    return out


def _zscore(image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    vals = image[valid]
    mean, std = (float(vals.mean()), float(vals.std())) if vals.size else (0.0, 1.0)
    return np.where(valid, (image - mean) / max(std, 1e-6), 0.0).astype(np.float32)


def make_slices(
    images: list[np.ndarray],
    labels: list[np.ndarray | None],
    scribbles: list[np.ndarray | None],
    centres: list[tuple[int, int]],
    size: int,
    names: list[str],
) -> SliceSet:
    """Cut windows around ``centres``; z-score each image over its real pixels."""
    win = [
        crop_window(np.ones(i.shape, bool), c, size, False)
        for i, c in zip(images, centres, strict=True)
    ]
    imgs = [
        _zscore(crop_window(i, c, size, 0.0), v)
        for i, c, v in zip(images, centres, win, strict=True)
    ]
    labs = None
    if all(lab is not None for lab in labels):
        labs = torch.from_numpy(
            np.stack([crop_window(lab, c, size, 0) for lab, c in zip(labels, centres, strict=True)])
        ).long()
    scrs = None
    if all(s is not None for s in scribbles):
        scrs = torch.from_numpy(
            np.stack(
                [
                    crop_window(s, c, size, UNLABELLED)
                    for s, c in zip(scribbles, centres, strict=True)
                ]
            )
        )
    return SliceSet(
        images=torch.from_numpy(np.stack(imgs))[:, None], labels=labs, scribbles=scrs,
        valid=torch.from_numpy(np.stack(win)), names=names,
    )  # fmt: skip


def heart_centre(labels: np.ndarray) -> tuple[int, int]:
    """Centre of mass of the heart (foreground) of a 2D label map, else the image centre."""
    if not (labels > 0).any():
        return labels.shape[0] // 2, labels.shape[1] // 2
    cy, cx = ndimage.center_of_mass(labels > 0)
    return int(round(cy)), int(round(cx))

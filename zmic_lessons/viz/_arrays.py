"""Input checks and array preparation shared by the viewers (numpy only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

AXIS_NAMES: tuple[str, str, str] = ("axis 0", "axis 1", "axis 2")


def to_numpy(array: Any, name: str = "array") -> np.ndarray:
    """Return ``array`` as a numpy array; torch tensors (any device) are detached and copied.

    Args:
        array: A numpy array, a torch tensor or anything ``np.asarray`` accepts.
        name: How the argument is called in error messages.
    """
    if hasattr(array, "detach") and hasattr(array, "cpu"):
        array = array.detach().cpu().numpy()
    out = np.asarray(array)
    if out.dtype == object:
        raise TypeError(f"{name}: expected a numeric array, got dtype object")
    return out


def as_volume(volume: Any, name: str = "volume") -> np.ndarray:
    """Check an image and return it as a float32 volume of shape ``(D0, D1, D2)``.

    A 2D image ``(H, W)`` becomes a one-slice volume ``(1, H, W)``.

    Raises:
        ValueError: if the image is not 2D or 3D, is empty, or holds no finite value.
    """
    arr = to_numpy(volume, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{name}: expected a 2D (H, W) or 3D (D0, D1, D2) array, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name}: the array is empty (shape {arr.shape})")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).any():
        raise ValueError(f"{name}: no finite value in the array")
    return arr


def as_labels(labels: Any, shape: tuple[int, ...], name: str = "labels") -> np.ndarray:
    """Check a label map against the image shape and return it as ``uint8`` of that shape.

    Args:
        labels: Integer class indices ``0..K-1`` (0 is background), 2D or 3D.
        shape: Shape of the image (after :func:`as_volume`), ``(D0, D1, D2)``.
        name: How the argument is called in error messages.

    Raises:
        ValueError: on a shape mismatch, non-integer values, negative values or values
            above 255 (remap raw data set codes such as 200/500/600 to 1..K first).
    """
    arr = to_numpy(labels, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape != tuple(shape):
        raise ValueError(f"{name}: shape {arr.shape} does not match the image shape {tuple(shape)}")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    integer = np.issubdtype(arr.dtype, np.integer)
    if not integer and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        raise ValueError(f"{name}: labels must be integer class indices, got dtype {arr.dtype}")
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if lo < 0 or hi > 255:
        raise ValueError(
            f"{name}: class indices must lie in 0..255, got {lo}..{hi}; "
            "remap data set codes to 0..K-1 first"
        )
    return arr.astype(np.uint8)


def check_axis(axis: int) -> int:
    """Return ``axis`` if it is 0, 1 or 2, else raise ``ValueError``."""
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    return int(axis)


def as_spacing(spacing: Sequence[float] | None) -> tuple[float, float, float]:
    """Voxel spacing ``(s0, s1, s2)`` in mm, in the volume's axis order; ``None`` means 1 mm."""
    if spacing is None:
        return (1.0, 1.0, 1.0)
    sp = tuple(float(s) for s in spacing)
    if len(sp) == 2:
        sp = (1.0, *sp)
    if len(sp) != 3 or not all(np.isfinite(s) and s > 0 for s in sp):
        raise ValueError(f"spacing must be 3 positive numbers (mm per voxel), got {spacing!r}")
    return sp  # type: ignore[return-value]


def plane_spacing(spacing: tuple[float, float, float], axis: int) -> tuple[float, float]:
    """The (row, column) spacing of slices cut along ``axis``."""
    return tuple(s for i, s in enumerate(spacing) if i != axis)  # type: ignore[return-value]


def window_of(
    volume: np.ndarray, percentiles: tuple[float, float] = (0.5, 99.5)
) -> tuple[float, float]:
    """A robust intensity window ``(low, high)`` from percentiles of the finite values."""
    finite = volume[np.isfinite(volume)]
    lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def check_window(window: Sequence[float] | None, volume: np.ndarray) -> tuple[float, float]:
    """``window`` as ``(low, high)`` with ``low < high``, or a robust default from ``volume``."""
    if window is None:
        return window_of(volume)
    lo, hi = (float(w) for w in window)
    if not hi > lo:
        raise ValueError(f"window must be (low, high) with low < high, got {tuple(window)!r}")
    return lo, hi


def to_uint8(image: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Map intensities in ``window`` linearly to 0..255 (clipped); NaN becomes 0."""
    lo, hi = window
    scaled = (np.nan_to_num(image, nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def pick_slices(n: int, max_slices: int) -> np.ndarray:
    """At most ``max_slices`` evenly spaced indices in ``0..n-1`` (all of them if ``n`` fits)."""
    if max_slices < 1:
        raise ValueError(f"max_slices must be at least 1, got {max_slices}")
    if n <= max_slices:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_slices).round().astype(int))


def stride_for(shape2d: tuple[int, int], max_size: int) -> int:
    """The integer stride that brings the larger in-plane side down to at most ``max_size``."""
    if max_size < 8:
        raise ValueError(f"max_size must be at least 8 pixels, got {max_size}")
    return max(1, int(np.ceil(max(shape2d) / max_size)))


def busiest_index(labels: np.ndarray | None, indices: np.ndarray) -> int:
    """Position (in ``indices``) of the slice with most foreground; the middle one if no labels.

    Args:
        labels: Label volume with the slicing axis first, ``(N, H, W)``, or ``None``.
        indices: Slice indices that are shown.
    """
    if labels is None:
        return len(indices) // 2
    counts = (labels[indices] > 0).reshape(len(indices), -1).sum(axis=1)
    if counts.max() == 0:
        return len(indices) // 2
    return int(np.argmax(counts))


def n_classes(labels: Sequence[np.ndarray], label_names: Mapping[int, str] | None) -> int:
    """Number of classes ``K`` (background included) needed to colour all label maps."""
    top = max((int(lab.max()) for lab in labels if lab.size), default=0)
    if label_names:
        top = max(top, max(label_names))
    return top + 1


def compare_panels(
    images: Mapping[str, Any], labels: Mapping[str, Any] | None
) -> list[tuple[str, np.ndarray, np.ndarray | None, str]]:
    """Panels of a comparison view as ``(name, image, labels or None, image name)``.

    Panels are the keys of ``images`` followed by the keys of ``labels`` that are not image
    names; a label entry named like an image is overlaid on it, any other one is overlaid on
    the first image. All volumes must share one shape.

    Raises:
        ValueError: if ``images`` is empty or shapes differ (the message names the key).
    """
    if not images:
        raise ValueError("images: give at least one {name: volume}")
    labels = dict(labels or {})
    vols = {key: as_volume(img, f"images[{key!r}]") for key, img in images.items()}
    first = next(iter(vols))
    shape = vols[first].shape
    for key, vol in vols.items():
        if vol.shape != shape:
            raise ValueError(
                f"images[{key!r}]: shape {vol.shape} differs from images[{first!r}] {shape}"
            )
    panels = []
    for key in list(vols) + [key for key in labels if key not in vols]:
        base = key if key in vols else first
        lab = labels.get(key)
        lab_arr = as_labels(lab, shape, f"labels[{key!r}]") if lab is not None else None
        panels.append((str(key), vols[base], lab_arr, str(base)))
    return panels

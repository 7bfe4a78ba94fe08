"""Reading one case: files -> checked arrays in package codes, paired by physical position."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...io import NiftiError, NiftiImage, read_nifti
from ..errors import FileFormatError, GeometryError, LabelError, MissingDataError
from ..scribbles import UNLABELLED
from .base import DatasetCase, Entry
from .codes import SCRIBBLE_CODES
from .geometry import grid_difference, reorient_exact, same_grid

__all__ = ["align_to", "check_image", "load_sequences", "map_labels", "read"]


def read(path: Path, expect_ndim: int, what: str) -> NiftiImage:
    """``read_nifti``; its errors become ``DataError`` exceptions saying what the file should be."""
    try:
        return read_nifti(path, expect_ndim=expect_ndim)
    except FileNotFoundError as err:
        raise MissingDataError(f"{path}: expected the {what}, but the file is missing") from err
    except NiftiError as err:
        raise FileFormatError(f"{err} (reading the {what})") from err


def check_image(img: NiftiImage, what: str, *, positive: bool = True) -> np.ndarray:
    """The image as ``float32``; refuses a constant (blank) image and, for MR, no positive voxel.

    Args:
        img: The image read from disk.
        what: What it should be (for the message).
        positive: MR magnitude images have positive voxels; CT (HU) need not.
    """
    array = img.array.astype(np.float32)
    lo, hi = float(array.min()), float(array.max())
    if lo == hi:
        raise FileFormatError(
            f"{img.path}: the {what} is constant (every voxel is {lo:g}); a blank or failed "
            "export: check the file in a viewer"
        )
    if positive and hi <= 0:
        raise FileFormatError(
            f"{img.path}: the {what} has no positive voxel (max {hi:g}); an MR magnitude image "
            "is positive: the file holds something else (a phase map, a mask, an offset)"
        )
    return array


def map_labels(
    arr: np.ndarray, codes: Mapping[int, int], path: Path, *, allow_empty: bool = True
) -> np.ndarray:
    """Map file label values to package codes; unknown or non-integer values raise LabelError.

    Args:
        arr: The label map as read.
        codes: File value -> package code.
        path: The file (for messages).
        allow_empty: If False, a map with no foreground (all values mapped to 0 or to
            ``UNLABELLED`` 255) raises ``LabelError``.
    """
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise LabelError(f"{path}: label values must be integers, the file stores {arr.dtype}")
    values = np.unique(arr)
    if np.issubdtype(values.dtype, np.floating):
        bad = values[np.abs(values - np.round(values)) > 1e-3]
        if bad.size:
            raise LabelError(
                f"{path}: label values must be integers, found {bad[:5].tolist()}; expected "
                f"codes {sorted(codes)}"
            )
        values = np.round(values).astype(np.int64)
        arr = np.round(arr).astype(np.int64)
    unknown = sorted(set(values.tolist()) - set(codes))
    if unknown:
        raise LabelError(
            f"{path}: unknown label value(s) {unknown[:10]}; this data set uses {sorted(codes)}"
        )
    out = np.zeros(arr.shape, dtype=np.uint8)
    for value, code in codes.items():
        if code:
            out[arr == value] = code
    if not allow_empty and not ((out > 0) & (out < 255)).any():
        raise LabelError(
            f"{path}: the label map has no foreground (values {values[:10].tolist()}); an empty "
            "or failed export: check the file"
        )
    return out


def _same_voxels(a: NiftiImage, b: NiftiImage) -> bool:
    return a.shape == b.shape and bool(np.allclose(a.spacing, b.spacing, rtol=1e-3, atol=1e-4))


def align_to(img: NiftiImage, ref: NiftiImage, what: str) -> np.ndarray:
    """``img``'s array on ``ref``'s voxel grid, paired by world position, or a GeometryError.

    Same grid: as is. Same voxel centres in another axis order or direction: reoriented exactly.
    A file without orientation (no sform, no qform) of the same shape and spacing: voxel by voxel.
    Anything else is refused with a message saying what differs.
    """
    if same_grid(ref, img):
        return img.array
    if (not img.oriented or not ref.oriented) and _same_voxels(img, ref):
        return img.array  # one file says nothing about orientation: voxel by voxel is all we have
    moved = reorient_exact(img, ref)
    if moved is not None:
        return moved
    raise GeometryError(
        f"{img.path}: {grid_difference(ref, img)} (compared with {ref.path}); {what}. Resample "
        "it onto the other grid first (zmic_lessons.data.datasets.resample_to), or fix its header"
    )


def _label_files(
    entry: Entry, key: str, img: NiftiImage, codes: Mapping[int, int], ndim: int, what: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    labels = scribbles = None
    empty_ok = ndim == 2
    if f"{key}_label" in entry.files:
        path = entry.files[f"{key}_label"]
        lab = read(path, ndim, f"{what} label map")
        arr = align_to(lab, img, "image and label must cover the same voxels")
        labels = map_labels(arr, codes, path, allow_empty=empty_ok)
    if f"{key}_scribble" in entry.files:
        path = entry.files[f"{key}_scribble"]
        scr = read(path, ndim, f"{what} scribbles")
        arr = align_to(scr, img, "image and scribbles must cover the same voxels")
        scribbles = map_labels(arr, SCRIBBLE_CODES, path)
        if not empty_ok and (scribbles == UNLABELLED).all():
            raise LabelError(f"{path}: no voxel is annotated (every value means 'unannotated')")
    return labels, scribbles


def load_sequences(
    name: str,
    entry: Entry,
    sequences: Mapping[str, str],
    codes: Mapping[int, int],
    aligned: bool,
    shared_label: str | None = None,
    expect_ndim: int = 3,
) -> DatasetCase:
    """Read images (and labels) of ``entry``; ``sequences`` maps package key -> file tag.

    With ``aligned``, every sequence is brought onto the first one's grid (exactly, or refused);
    a ``shared_label`` file is paired with that grid too.
    """
    case = DatasetCase(name, {}, {}, {}, dict(entry.files), info=dict(entry.info))
    first: NiftiImage | None = None
    for key, tag in sequences.items():
        img = read(entry.files[key], expect_ndim, f"{tag} image of {name}")
        check_image(img, f"{tag} image of {name}", positive=key != "ct")
        if aligned and first is not None:
            what = "the sequences of this data set are pre-aligned and must share one grid"
            img = NiftiImage(align_to(img, first, what), first.spacing, first.affine, img.path)
        first = first or img
        case.images[key] = img.array.astype(np.float32)
        case.spacing[key], case.affine[key] = img.spacing, img.affine
        labels, scribbles = _label_files(entry, key, img, codes, expect_ndim, f"{tag} of {name}")
        if labels is not None:
            case.labels[key] = labels
        if scribbles is not None:
            case.scribbles[key] = scribbles
    if shared_label is not None and first is not None:
        path = entry.files[shared_label]
        lab = read(path, expect_ndim, f"label map of {name}")
        arr = align_to(lab, first, "image and label must cover the same voxels")
        shared = map_labels(arr, codes, path, allow_empty=False)
        for key in sequences:
            case.labels[key] = shared
    return case

"""The MvMM's common space for real cases: every sequence resampled through its own affine.

MS-CMRSeg ships bSSFP, T2 and LGE each with its own voxel size, shape and affine (about
1.25 x 1.25 x 8-13 mm, 1.35 x 1.35 x 12-20 mm and 0.75 x 0.75 x 5 mm). The MvMM evaluates its
likelihood on one grid, the common space: here the reference sequence's grid (bSSFP, where
the atlas and the labels live). Each other sequence is resampled onto it by **world
position** (its affine, then the reference's inverse affine:
:func:`zmic_lessons.data.datasets.resample_to`), never by array index, and slice by slice
(linear in-plane, the nearest acquired slice through the slices: each slice had its own
breath-hold, and a blend of two would mix two motions); the fit's
per-sequence rigid transforms then act on top, as on the phantom. A slice of the common space
that a sequence's slabs do not reach is marked uncovered (the generalized MvMM leaves it out
of that sequence's likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.ops import scale_to_percentile
from ..data.datasets import DatasetCase, resample_to
from ..data.labels import SEQUENCES

__all__ = ["CommonStack", "common_stack", "same_grid_arrays"]


@dataclass
class CommonStack:
    """A real case's sequences on the reference grid.

    Attributes:
        images: ``float32`` (S, Z, H, W) in :data:`SEQUENCES` order, each divided by its own
            99.5th percentile (on its own grid) and clipped at 1.5.
        coverage: ``bool`` (S, Z): which common slices each sequence reaches.
        affine: The common grid's voxel -> world matrix (the reference's).
        resampled: The sequences that were resampled (their grids differ from the reference).
    """

    images: np.ndarray
    coverage: np.ndarray
    affine: np.ndarray
    resampled: list[str]


def same_grid_arrays(
    shape_a: tuple[int, ...], affine_a: np.ndarray, shape_b: tuple[int, ...], affine_b: np.ndarray
) -> bool:
    """Same shape and the same voxel-to-world matrix (within 1e-4 mm)."""
    return tuple(shape_a) == tuple(shape_b) and bool(np.allclose(affine_a, affine_b, atol=1e-4))


def common_stack(case: DatasetCase, reference: str = SEQUENCES[0]) -> CommonStack:
    """Every sequence of ``case`` normalised, then resampled onto ``reference``'s grid.

    A case without affines (built by hand) must have one shape for all sequences: it is then
    taken voxel by voxel, as the arrays say nothing else.

    Raises:
        ValueError: Shapes differ and there are no affines to resample through.
    """
    ref_shape = case.images[reference].shape
    target = case.affine.get(reference)
    images, cover, moved = [], [], []
    for name in SEQUENCES:
        img = np.clip(scale_to_percentile(np.asarray(case.images[name], np.float32))[0], 0, 1.5)
        if target is None or name not in case.affine:
            if img.shape != ref_shape:
                raise ValueError(
                    f"{case.name}: {name} has shape {img.shape} and {reference} {ref_shape}, "
                    "and the case has no affines to resample them through; read it with a "
                    "loader of zmic_lessons.data.datasets (they keep each file's affine)"
                )
            images.append(img)
            cover.append(np.ones(ref_shape[0], bool))
            continue
        src = case.affine[name]
        if same_grid_arrays(img.shape, src, ref_shape, target):
            images.append(img)
            cover.append(np.ones(ref_shape[0], bool))
            continue
        inside = resample_to(np.ones(img.shape, np.uint8), src, ref_shape, target, order=0)
        moved_img = resample_to(img, src, ref_shape, target, order=1, slicewise=True)
        images.append(moved_img.astype(np.float32))
        cover.append(inside.reshape(ref_shape[0], -1).any(axis=1))
        moved.append(name)
    affine = target if target is not None else np.eye(4)
    return CommonStack(np.stack(images), np.stack(cover), affine, moved)

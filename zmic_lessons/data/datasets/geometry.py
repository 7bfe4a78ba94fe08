"""Voxel grids in physical space: compare two files' grids, reorient exactly, resample.

Every loader reads each file with its affine (voxel -> world mm, nibabel's ``(i, j, k)`` order,
see :mod:`zmic_lessons.io`) and pairs files by **physical position**, never voxel by voxel on
trust:

* two files on the same grid (shape and affine equal within a thousandth of a voxel) pair as
  they are;
* two files that hold the same voxel centres stored in another axis order or direction (a label
  written LPS next to an RAS image, a transposed export) are reoriented exactly, without
  interpolation: :func:`reorient_exact`;
* anything else (another origin, spacing, shape or rotation) is refused by the loaders with a
  message from :func:`grid_difference` saying what differs; :func:`resample_to` resamples by
  physical coordinates when a caller wants that (e.g. MS-CMRSeg's unaligned sequences).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from ...io import NiftiImage, spacing_from_affine

__all__ = ["grid_difference", "reorient_exact", "resample_to", "same_grid"]

#: tolerance for "the same voxel centres": the largest displacement, in voxels, at any corner of
#: the grid (float32 headers carry ~1e-7 relative error; 1 % of a voxel is far below what matters)
GRID_TOL_VOXELS = 1e-2


def _ijk(array: np.ndarray) -> np.ndarray:
    """Array in nibabel order with three spatial axes (2D ``(y, x)`` -> ``(x, y, 1)``)."""
    vol = array.T
    return vol[..., None] if vol.ndim == 2 else vol


def _from_ijk(vol: np.ndarray, ndim: int) -> np.ndarray:
    out = vol[..., 0] if ndim == 2 else vol
    return np.ascontiguousarray(out.T)


def _shape_ijk(shape: tuple[int, ...]) -> tuple[int, int, int]:
    rev = tuple(shape[::-1])
    return (*rev, 1) if len(rev) == 2 else rev  # type: ignore[return-value]


def _voxel_map(src_affine: np.ndarray, dst_affine: np.ndarray) -> np.ndarray:
    """4×4 map from source voxel indices to destination voxel indices (both ``(i, j, k)``)."""
    return np.linalg.inv(np.asarray(dst_affine, float)) @ np.asarray(src_affine, float)


def _corners(shape_ijk: tuple[int, int, int]) -> np.ndarray:
    """The 8 corner voxel indices of a grid as homogeneous columns ``(4, 8)``."""
    axes = [[0, max(n - 1, 0)] for n in shape_ijk]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).astype(float)
    return np.vstack([grid, np.ones(grid.shape[1])])


def _max_gap(m: np.ndarray, approx: np.ndarray, shape_ijk: tuple[int, int, int]) -> float:
    """Largest distance (voxels) between two voxel maps over the corners of a grid."""
    return float(np.abs((m - approx) @ _corners(shape_ijk))[:3].max())


def same_grid(a: NiftiImage, b: NiftiImage) -> bool:
    """Whether ``a`` and ``b`` have the same shape and the same voxel centres in world space."""
    if a.shape != b.shape:
        return False
    m = _voxel_map(b.affine, a.affine)
    return _max_gap(m, np.eye(4), _shape_ijk(b.shape)) <= GRID_TOL_VOXELS


def reorient_exact(img: NiftiImage, target: NiftiImage) -> np.ndarray | None:
    """``img``'s array on ``target``'s grid, if that needs only axis permutations and flips.

    Args:
        img: The image to move (2D or 3D).
        target: The image whose grid (shape and affine) the result takes.

    Returns:
        An array of ``target.shape`` with ``img``'s voxels at the same world positions, or
        ``None`` when the grids do not hold the same voxel centres (then resample or refuse).
    """
    if img.ndim != target.ndim or img.ndim not in (2, 3):
        return None
    m = _voxel_map(img.affine, target.affine)
    src_shape, dst_shape = _shape_ijk(img.shape), _shape_ijk(target.shape)
    exact = np.eye(4)
    exact[:3, :3], exact[:3, 3] = np.round(m[:3, :3]), np.round(m[:3, 3])
    perm, shift = exact[:3, :3], exact[:3, 3]
    if _max_gap(m, exact, src_shape) > GRID_TOL_VOXELS:
        return None
    if not (np.abs(perm).sum(axis=0) == 1).all() or not (np.abs(perm).sum(axis=1) == 1).all():
        return None
    order = [int(np.argmax(np.abs(perm[a]))) for a in range(3)]
    vol = np.transpose(_ijk(img.array), order)
    for a, b in enumerate(order):
        sign, start = perm[a, b], round(shift[a])
        if src_shape[b] != dst_shape[a] or start != (0 if sign > 0 else dst_shape[a] - 1):
            return None
        if sign < 0:
            vol = np.flip(vol, axis=a)
    return _from_ijk(vol, img.ndim)


def _axcodes(affine: np.ndarray) -> str:
    return "".join(str(c) for c in nib.aff2axcodes(affine))


def grid_difference(ref: NiftiImage, other: NiftiImage) -> str:
    """What differs between two grids, in words (shape, spacing, orientation, position)."""
    parts = []
    if ref.shape != other.shape:
        parts.append(f"shape {other.shape} differs from {ref.shape}")
    sp_ref = tuple(round(s, 4) for s in spacing_from_affine(ref.affine, ref.ndim))
    sp_other = tuple(round(s, 4) for s in spacing_from_affine(other.affine, other.ndim))
    if not np.allclose(sp_ref, sp_other, rtol=1e-3, atol=1e-4):
        parts.append(f"spacing {sp_other} mm differs from {sp_ref} mm (z, y, x)")
    codes_ref, codes_other = _axcodes(ref.affine), _axcodes(other.affine)
    if codes_ref != codes_other:
        parts.append(f"orientation {codes_other} differs from {codes_ref} (voxel axes i, j, k)")
    rot_ref = ref.affine[:3, :3] / np.linalg.norm(ref.affine[:3, :3], axis=0)
    rot_other = other.affine[:3, :3] / np.linalg.norm(other.affine[:3, :3], axis=0)
    if codes_ref == codes_other and not np.allclose(rot_ref, rot_other, atol=1e-3):
        parts.append("the axes are rotated with respect to each other")
    offset = float(np.linalg.norm(other.affine[:3, 3] - ref.affine[:3, 3]))
    if offset > GRID_TOL_VOXELS * min(sp_ref):
        parts.append(f"voxel (0, 0, 0) is {offset:.2f} mm away")
    return "; ".join(parts) or "the voxel grids differ"


def resample_to(
    array: np.ndarray,
    affine: np.ndarray,
    shape: tuple[int, ...],
    target_affine: np.ndarray,
    *,
    order: int = 1,
    slicewise: bool = False,
) -> np.ndarray:
    """Resample an array onto another grid by physical (world) coordinates, never by index.

    Each target voxel centre is mapped to world millimetres (``target_affine``), then into the
    source's voxel indices (``inverse(affine)``), where the source is interpolated. A source
    voxel covers half a voxel on either side of its centre, so a target point up to half a
    voxel beyond the outermost centre (e.g. an 8 mm slice inside the outer half of a 16 mm T2
    slab) takes the edge voxel's value; beyond that it is 0.

    Args:
        array: ``(z, y, x)`` or ``(y, x)`` array on the grid of ``affine``.
        affine: Its 4×4 voxel-to-world matrix (mm, nibabel ``(i, j, k)`` order).
        shape: Target shape, array order.
        target_affine: The target grid's voxel-to-world matrix.
        order: Spline order: 0 (nearest neighbour: label maps), 1 (linear: images), 3.
        slicewise: Through the slices, take the nearest source slice instead of interpolating
            (``order`` applies in-plane): each target slice then comes from one acquired
            slice. For stacks of 2D slices, each with its own breath-hold, where a blend of
            two slices would mix two motions that no in-plane transform can undo.

    Returns:
        Array of ``shape`` (``float64`` for ``order > 0``, the input dtype for ``order == 0``);
        voxels outside the source grid's extent are 0.
    """
    if len(shape) != array.ndim:
        raise ValueError(f"resample_to: target shape {shape} has not {array.ndim} axes")
    m = _voxel_map(target_affine, affine)  # target voxel -> source voxel
    src = _ijk(np.asarray(array))
    src = src if order == 0 else src.astype(np.float64)
    out_shape = _shape_ijk(tuple(shape))
    idx = np.indices(out_shape, dtype=np.float64).reshape(3, -1)
    coords = m[:3, :3] @ idx + m[:3, 3:4]
    if slicewise and array.ndim == 3:
        coords[2] = np.round(coords[2])  # (i, j, k): k runs through the slices
    out = ndimage.map_coordinates(src, coords, order=order, mode="nearest", prefilter=order > 1)
    half = 0.5 + 1e-6
    inside = np.all((coords >= -half) & (coords <= np.array(src.shape)[:, None] - 1 + half), 0)
    out = np.where(inside, out, 0).astype(out.dtype).reshape(out_shape)
    return _from_ijk(out, len(shape))

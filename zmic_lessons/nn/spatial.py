"""Dense spatial transforms: warping by displacement fields and their smoothness penalties.

Conventions used throughout this module:

* Images are ``(N, C, H, W)`` in 2D and ``(N, C, D, H, W)`` in 3D.
* Displacements are in **voxels**, shape ``(N, 2, H, W)`` with channels ``(y, x)`` or
  ``(N, 3, D, H, W)`` with channels ``(z, y, x)``, i.e. the same order as the array axes.
* ``warp(image, u)(p) = image(p + u(p))``: the warped image at voxel ``p`` samples the moving image
  at ``p + u(p)`` (a *backward* or *pull* warp, as in a spatial transformer).
* Voxel ``i`` along an axis of size ``n`` sits at normalised coordinate ``2 i / (n - 1) - 1``, which
  is PyTorch's ``align_corners=True`` convention: the centres of the first and last voxels are
  at -1 and +1, so a displacement of one voxel is exactly one voxel at every resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "affine_displacement",
    "bending_energy",
    "gradient_l2",
    "identity_grid",
    "resize_displacement",
    "warp",
]


def identity_grid(
    shape: Sequence[int],
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Voxel coordinates of every voxel of a grid.

    Args:
        shape: Spatial shape ``(H, W)`` or ``(D, H, W)``.
        device: Device of the result.
        dtype: Floating dtype of the result.

    Returns:
        Tensor of shape ``(len(shape), *shape)``; channel ``k`` holds the index along axis ``k``
        (so ``(y, x)`` in 2D, ``(z, y, x)`` in 3D), in voxels.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"identity_grid: expected a 2D or 3D shape, got {shape}")
    axes = [torch.arange(s, device=device, dtype=dtype) for s in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0)


def _check_pair(image: torch.Tensor, displacement: torch.Tensor) -> int:
    ndim = image.dim() - 2
    if ndim not in (2, 3):
        raise ValueError(
            f"warp: image must be (N, C, H, W) or (N, C, D, H, W), got shape {tuple(image.shape)}"
        )
    if displacement.dim() != ndim + 2 or displacement.shape[1] != ndim:
        raise ValueError(
            f"warp: displacement for a {ndim}D image must be (N, {ndim}, *spatial), "
            f"got shape {tuple(displacement.shape)}"
        )
    if displacement.shape[2:] != image.shape[2:]:
        raise ValueError(
            f"warp: spatial shapes differ: image {tuple(image.shape[2:])}, "
            f"displacement {tuple(displacement.shape[2:])}"
        )
    n_img, n_disp = image.shape[0], displacement.shape[0]
    if n_img != n_disp and 1 not in (n_img, n_disp):
        raise ValueError(f"warp: batch sizes {n_img} (image) and {n_disp} (displacement) differ")
    return ndim


def warp(
    image: torch.Tensor,
    displacement: torch.Tensor,
    mode: str = "bilinear",
    padding_mode: str = "border",
) -> torch.Tensor:
    """Resample ``image`` at ``p + displacement(p)`` for every voxel ``p``.

    Args:
        image: ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        displacement: ``(N, 2, H, W)`` as ``(y, x)`` or ``(N, 3, D, H, W)`` as ``(z, y, x)``, in
            voxels. A batch of 1 on either side is broadcast against the other.
        mode: ``"bilinear"`` (trilinear in 3D) or ``"nearest"`` (for label maps).
        padding_mode: Value outside the image: ``"border"``, ``"zeros"`` or ``"reflection"``.

    Returns:
        The warped image, same shape as ``image`` (batch broadcast if needed), same dtype.
    """
    ndim = _check_pair(image, displacement)
    spatial = image.shape[2:]
    batch = max(image.shape[0], displacement.shape[0])
    if image.shape[0] != batch:
        image = image.expand(batch, *image.shape[1:])
    if displacement.shape[0] != batch:
        displacement = displacement.expand(batch, *displacement.shape[1:])
    work_dtype = image.dtype if image.is_floating_point() else torch.float32
    disp = displacement.to(work_dtype)
    positions = identity_grid(spatial, device=disp.device, dtype=work_dtype) + disp
    # Voxel index -> [-1, 1] (align_corners=True); a size-1 axis reads as index 0 anyway.
    scale = torch.tensor(
        [2.0 / max(s - 1, 1) for s in spatial], device=disp.device, dtype=work_dtype
    ).view(1, ndim, *([1] * ndim))
    normalised = positions * scale - 1.0
    # grid_sample wants the last dim ordered (x, y[, z]): reverse our (.., y, x) channels.
    grid = normalised.permute(0, *range(2, ndim + 2), 1).flip(-1)
    out = F.grid_sample(
        image.to(work_dtype), grid, mode=mode, padding_mode=padding_mode, align_corners=True
    )
    return out if image.is_floating_point() else out.round().to(image.dtype)


def resize_displacement(displacement: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resample a voxel displacement field to another grid, rescaling its values.

    Coarse-to-fine registration parameterises a field at 1/2 or 1/4 resolution; upsampling it
    must also multiply each component by the ratio of grid sizes (with ``align_corners=True``,
    ``(new - 1) / (old - 1)``) so it still moves the image by the same physical amount.

    Args:
        displacement: ``(N, d, *spatial)`` in voxels of its own grid.
        size: Target spatial shape.

    Returns:
        ``(N, d, *size)`` in voxels of the target grid.
    """
    ndim = displacement.dim() - 2
    size = tuple(int(s) for s in size)
    if len(size) != ndim or displacement.shape[1] != ndim:
        raise ValueError(
            f"resize_displacement: field {tuple(displacement.shape)} and size {size} disagree"
        )
    mode = "bilinear" if ndim == 2 else "trilinear"
    out = F.interpolate(displacement, size=size, mode=mode, align_corners=True)
    ratio = [
        (new - 1) / max(old - 1, 1) for new, old in zip(size, displacement.shape[2:], strict=True)
    ]
    factor = torch.tensor(ratio, device=out.device, dtype=out.dtype).view(1, ndim, *[1] * ndim)
    return out * factor


def affine_displacement(matrix: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Displacement field of an affine map about the grid centre, in voxels.

    The map sends voxel ``p`` to ``A (p - c) + t + c`` with ``c`` the centre of the grid, so the
    identity is ``A = I, t = 0`` and a rotation turns about the image centre.

    Args:
        matrix: ``(N, d, d + 1)`` holding ``[A | t]`` in voxel units, axis order ``(y, x)`` or
            ``(z, y, x)``.
        shape: Spatial shape of the grid (length ``d``).

    Returns:
        ``(N, d, *shape)`` displacement ``A (p - c) + t + c - p``, usable with :func:`warp`.
    """
    shape = tuple(int(s) for s in shape)
    ndim = len(shape)
    if matrix.dim() != 3 or matrix.shape[1:] != (ndim, ndim + 1):
        raise ValueError(
            f"affine_displacement: expected matrix (N, {ndim}, {ndim + 1}), "
            f"got {tuple(matrix.shape)}"
        )
    grid = identity_grid(shape, device=matrix.device, dtype=matrix.dtype)
    centre = torch.tensor([(s - 1) / 2 for s in shape], device=matrix.device, dtype=matrix.dtype)
    centred = grid.reshape(ndim, -1) - centre[:, None]
    linear, shift = matrix[:, :, :ndim], matrix[:, :, ndim:]
    mapped = linear @ centred + shift + centre[:, None]
    return (mapped - grid.reshape(ndim, -1)).reshape(matrix.shape[0], ndim, *shape)


def _spacing(spacing: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, (int, float)):
        return (float(spacing),) * ndim
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ndim:
        raise ValueError(f"spacing {spacing} does not match a {ndim}D field")
    return spacing


def _check_field(displacement: torch.Tensor, name: str) -> int:
    ndim = displacement.dim() - 2
    if ndim not in (2, 3) or displacement.shape[1] != ndim:
        raise ValueError(
            f"{name}: displacement must be (N, 2, H, W) or (N, 3, D, H, W), "
            f"got {tuple(displacement.shape)}"
        )
    return ndim


def _central_diff(field: torch.Tensor, axis: int, step: float) -> torch.Tensor:
    """Central difference along spatial ``axis`` (0-based), interior voxels only on that axis."""
    dim = axis + 2
    n = field.shape[dim]
    return (field.narrow(dim, 2, n - 2) - field.narrow(dim, 0, n - 2)) / (2.0 * step)


def _crop_to_interior(field: torch.Tensor, skip: Sequence[int]) -> torch.Tensor:
    """Drop the first and last voxel along every spatial axis not in ``skip``."""
    for axis in range(field.dim() - 2):
        if axis not in skip:
            field = field.narrow(axis + 2, 1, field.shape[axis + 2] - 2)
    return field


def bending_energy(
    displacement: torch.Tensor, spacing: float | Sequence[float] | None = None
) -> torch.Tensor:
    """Bending energy: the mean over interior voxels of the summed squared second derivatives.

    For each component ``u_k`` the density is ``sum_i (d2u/dxi2)^2 + 2 sum_{i<j} (d2u/dxi dxj)^2``;
    these are summed over components and averaged over the voxels at least one voxel away from the
    border (where all central differences exist). Affine fields have zero bending energy.

    Args:
        displacement: ``(N, 2, H, W)`` or ``(N, 3, D, H, W)``; every spatial size at least 3.
        spacing: Voxel size per axis (same order as the channels); ``None`` means 1 (voxel units).

    Returns:
        A scalar tensor (differentiable).
    """
    ndim = _check_field(displacement, "bending_energy")
    if min(displacement.shape[2:]) < 3:
        raise ValueError(
            f"bending_energy: every spatial size must be >= 3, got {tuple(displacement.shape[2:])}"
        )
    step = _spacing(spacing, ndim)
    total = displacement.new_zeros(())
    for i in range(ndim):
        n = displacement.shape[i + 2]
        d2 = (
            displacement.narrow(i + 2, 2, n - 2)
            - 2 * displacement.narrow(i + 2, 1, n - 2)
            + displacement.narrow(i + 2, 0, n - 2)
        ) / step[i] ** 2
        total = total + _crop_to_interior(d2, skip=[i]).pow(2).sum(1).mean()
        for j in range(i + 1, ndim):
            dij = _central_diff(_central_diff(displacement, i, step[i]), j, step[j])
            total = total + 2 * _crop_to_interior(dij, skip=[i, j]).pow(2).sum(1).mean()
    return total


def gradient_l2(
    displacement: torch.Tensor, spacing: float | Sequence[float] | None = None
) -> torch.Tensor:
    """Membrane (diffusion) energy: mean squared first derivatives, summed over components and axes.

    Uses forward differences; each axis's term is averaged over the voxels where it exists.
    Constant fields (pure translations) have zero membrane energy.

    Args:
        displacement: ``(N, 2, H, W)`` or ``(N, 3, D, H, W)``; every spatial size at least 2.
        spacing: Voxel size per axis; ``None`` means 1.

    Returns:
        A scalar tensor (differentiable).
    """
    ndim = _check_field(displacement, "gradient_l2")
    step = _spacing(spacing, ndim)
    total = displacement.new_zeros(())
    for i in range(ndim):
        n = displacement.shape[i + 2]
        if n < 2:
            raise ValueError(f"gradient_l2: spatial size {n} along axis {i} is < 2")
        diff = (displacement.narrow(i + 2, 1, n - 1) - displacement.narrow(i + 2, 0, n - 1)) / step[
            i
        ]
        total = total + diff.pow(2).sum(1).mean()
    return total

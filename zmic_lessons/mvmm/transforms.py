"""Rigid and affine slice transforms in torch, and resampling into the common space.

Convention (shared with ``zmic_lessons.data.acquisition.Rigid2D``): a transform ``T`` maps a
*common-space* pixel ``p = (y, x)`` to the sequence's pixel coordinates,

    T(p) = R(angle) (p - c) + c + shift,   c = ((H - 1) / 2, (W - 1) / 2),
    R(a) = [[cos a, -sin a], [sin a, cos a]]   acting on (y, x),

and the sequence resampled into the common space is ``J(p) = I(T(p))`` (bilinear). Stacks have
shape ``(Z, H, W)``: every slice is a 2D image with its own in-plane transform (breath-hold
shifts), and each sequence has one rotation shared by its slices (inter-scan misregistration).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.ops import gaussian_blur, gaussian_kernel1d


def pixel_grid(h: int, w: int, device=None, dtype=torch.float32) -> Tensor:
    """Pixel coordinates ``(H, W, 2)`` as ``(y, x)``."""
    ys = torch.arange(h, device=device, dtype=dtype)
    xs = torch.arange(w, device=device, dtype=dtype)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1)


def rotation(angle: Tensor) -> Tensor:
    """``R(angle)`` acting on ``(y, x)``: shape ``angle.shape + (2, 2)``."""
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


Region = tuple[int, int, int, int]
"""A window ``(y0, x0, height, width)`` of the common grid (the region of interest)."""


def grid_centre(h: int, w: int, like: Tensor) -> Tensor:
    """The centre ``((H - 1) / 2, (W - 1) / 2)`` of an ``H x W`` grid, like ``like``."""
    return torch.tensor([(h - 1) / 2.0, (w - 1) / 2.0], device=like.device, dtype=like.dtype)


def affine_coords(
    matrix: Tensor,
    shift: Tensor,
    h: int,
    w: int,
    region: Region | None = None,
    centre: Tensor | None = None,
) -> Tensor:
    """``T(p) = M (p - c) + c + shift`` on the pixel grid (or a window of it).

    Args:
        matrix: ``(..., 2, 2)`` acting on ``(y, x)``.
        shift: ``(..., 2)`` in pixels ``(dy, dx)``.
        h, w: Size of the full grid (defines the default centre ``c``).
        region: Evaluate only on this window of the common grid (default: all of it).
        centre: ``c`` as ``(2,)`` pixels ``(y, x)`` (default: the grid's centre).

    Returns:
        Sequence-space coordinates ``(..., H', W', 2)`` for the window's pixels.
    """
    y0, x0, hh, ww = region if region is not None else (0, 0, h, w)
    grid = pixel_grid(hh, ww, shift.device, shift.dtype)
    grid = grid + torch.tensor([float(y0), float(x0)], device=shift.device, dtype=shift.dtype)
    centre = grid_centre(h, w, shift) if centre is None else centre.to(shift)
    q = grid - centre  # (H, W, 2)
    mat = matrix[..., None, None, :, :]  # (..., 1, 1, 2, 2)
    return (mat @ q[..., None]).squeeze(-1) + centre + shift[..., None, None, :]


def rigid_coords(
    angle: Tensor,
    shift: Tensor,
    h: int,
    w: int,
    region: Region | None = None,
    centre: Tensor | None = None,
) -> Tensor:
    """Rigid ``T(p) = R(angle)(p - c) + c + shift``; ``angle (...)``, ``shift (..., 2)``."""
    return affine_coords(rotation(angle), shift, h, w, region, centre)


def sample(image: Tensor, coords: Tensor) -> Tensor:
    """Bilinear ``image(coords)`` with border padding.

    Args:
        image: ``(N, H, W)``.
        coords: ``(N, H', W', 2)`` pixel coordinates ``(y, x)`` into ``image``.

    Returns:
        ``(N, H', W')``.
    """
    h, w = image.shape[-2:]
    norm = torch.stack(
        [2.0 * coords[..., 1] / max(w - 1, 1) - 1.0, 2.0 * coords[..., 0] / max(h - 1, 1) - 1.0],
        dim=-1,
    )
    out = F.grid_sample(
        image[:, None], norm, mode="bilinear", padding_mode="border", align_corners=True
    )
    return out[:, 0]


def in_view(coords: Tensor, h: int, w: int) -> Tensor:
    """Whether each sample point lies inside the ``H x W`` field of view (bool ``(..., H, W)``)."""
    y, x = coords[..., 0], coords[..., 1]
    return (y >= 0) & (y <= h - 1) & (x >= 0) & (x <= w - 1)


def bilinear_gradient(image: Tensor, coords: Tensor) -> Tensor:
    """Exact spatial gradient ``(dI/dy, dI/dx)`` of the bilinear interpolant at ``coords``.

    This is the derivative that autograd takes through :func:`sample` (border clamping
    included), used for the analytic MvMM force.

    Args:
        image: ``(N, H, W)``; coords: ``(N, H', W', 2)``.

    Returns:
        ``(N, H', W', 2)``.
    """
    h, w = image.shape[-2:]
    y = coords[..., 0]
    x = coords[..., 1]
    inside_y = (y > 0) & (y < h - 1)
    inside_x = (x > 0) & (x < w - 1)
    yc = y.clamp(0, h - 1)
    xc = x.clamp(0, w - 1)
    y0 = yc.floor().clamp(max=h - 2).long()
    x0 = xc.floor().clamp(max=w - 2).long()
    fy = yc - y0
    fx = xc - x0
    n = image.shape[0]
    flat = image.reshape(n, -1)

    def at(yy: Tensor, xx: Tensor) -> Tensor:
        return torch.gather(flat, 1, (yy * w + xx).reshape(n, -1)).reshape(yy.shape)

    i00, i01 = at(y0, x0), at(y0, x0 + 1)
    i10, i11 = at(y0 + 1, x0), at(y0 + 1, x0 + 1)
    d_dx = (1 - fy) * (i01 - i00) + fy * (i11 - i10)
    d_dy = (1 - fx) * (i10 - i00) + fx * (i11 - i01)
    zero = torch.zeros((), dtype=image.dtype, device=image.device)
    return torch.stack([torch.where(inside_y, d_dy, zero), torch.where(inside_x, d_dx, zero)], -1)


def gaussian_smooth2d(images: Tensor, sigma: float) -> Tensor:
    """In-plane Gaussian smoothing of ``(..., H, W)``, ``sigma`` in pixels, reflect padding.

    :func:`zmic_lessons.core.ops.gaussian_blur` (which pads by replicating the border) applied
    to a copy reflect-padded by its radius and cropped back: a mirrored border keeps the
    image's texture at the edge, where the fitted window may reach.
    """
    if sigma <= 0:
        return images
    radius = (gaussian_kernel1d(sigma).numel() - 1) // 2
    shape = images.shape
    x = F.pad(images.reshape(-1, 1, *shape[-2:]), (radius,) * 4, mode="reflect")
    return gaussian_blur(x, sigma)[..., radius:-radius, radius:-radius].reshape(shape)


@dataclass
class StackRigid:
    """Per-sequence rotation plus per-slice translation for ``S`` stacks of ``Z`` slices.

    ``T_iz(p) = R(angle_i)(p - c) + c + shift_iz``. ``fixed[i]`` pins sequence ``i`` to the
    identity (the reference that defines the common space). The rotation centre ``c`` is the
    grid's centre unless ``centre`` says otherwise: the MvMM fit rotates about the centre of
    its region of interest (the heart), where an angle barely moves the heart's centre and so
    is nearly independent of the shifts (about a far centre, a small angle error is a shift).

    Attributes:
        angle: ``(S,)`` radians. shift: ``(S, Z, 2)`` pixels ``(dy, dx)``. fixed: ``(S,)`` bool.
        centre: ``(2,)`` rotation centre ``(y, x)`` in common-grid pixels, or ``None`` (the
            grid's centre, the phantom's convention).
    """

    angle: Tensor
    shift: Tensor
    fixed: Tensor
    centre: Tensor | None = None

    @classmethod
    def identity(
        cls, n_sequences: int, n_slices: int, reference: int | None = 0, device=None, dtype=None
    ) -> StackRigid:
        """All transforms at the identity; ``reference`` (if not ``None``) is fixed."""
        dtype = dtype or torch.get_default_dtype()
        fixed = torch.zeros(n_sequences, dtype=torch.bool, device=device)
        if reference is not None:
            fixed[reference] = True
        return cls(
            angle=torch.zeros(n_sequences, device=device, dtype=dtype),
            shift=torch.zeros(n_sequences, n_slices, 2, device=device, dtype=dtype),
            fixed=fixed,
        )

    def parameters(self) -> list[Tensor]:
        """The optimisable tensors."""
        return [self.angle, self.shift]

    def clone(self) -> StackRigid:
        """A detached copy."""
        centre = None if self.centre is None else self.centre.detach().clone()
        return StackRigid(
            self.angle.detach().clone(), self.shift.detach().clone(), self.fixed, centre
        )

    def centre_of(self, h: int, w: int) -> Tensor:
        """The rotation centre ``(2,)`` on an ``H x W`` grid."""
        return grid_centre(h, w, self.shift) if self.centre is None else self.centre.to(self.shift)

    def recentred(self, centre: Tensor | None, h: int, w: int) -> StackRigid:
        """The same transforms written about another rotation centre (``None``: the grid's).

        ``R(p - c) + c + s = R(p - c') + c' + s'`` with ``s' = s + (R - I)(c' - c)``.
        """
        new = grid_centre(h, w, self.shift) if centre is None else centre.to(self.shift)
        delta = new - self.centre_of(h, w)
        eye = torch.eye(2, device=self.shift.device, dtype=self.shift.dtype)
        moved = ((rotation(self.angle.detach()) - eye) @ delta)[:, None, :]  # (S, 1, 2)
        keep = (~self.fixed).to(self.shift.dtype)[:, None, None]
        shift = self.shift.detach() + moved * keep
        return StackRigid(
            self.angle.detach().clone(), shift, self.fixed, None if centre is None else new
        )

    def effective(self) -> tuple[Tensor, Tensor]:
        """``(angle, shift)`` with the fixed sequences forced to the identity."""
        keep = (~self.fixed).to(self.angle.dtype)
        return self.angle * keep, self.shift * keep[:, None, None]

    def coords(self, h: int, w: int, region: Region | None = None) -> Tensor:
        """Sequence-space sample points ``(S, Z, H', W', 2)`` of the common grid (window)."""
        angle, shift = self.effective()
        z = shift.shape[1]
        return rigid_coords(angle[:, None].expand(-1, z), shift, h, w, region, self.centre)

    def resample(self, images: Tensor, region: Region | None = None) -> tuple[Tensor, Tensor]:
        """Resample ``(S, Z, H, W)`` stacks into the common space (or a window of it).

        Returns:
            ``J (S, Z, H', W')`` and the field-of-view indicator ``(S, Z, H', W')`` (bool).
        """
        s, z, h, w = images.shape
        coords = self.coords(h, w, region)
        hh, ww = coords.shape[2:4]
        j = sample(images.reshape(s * z, h, w), coords.reshape(s * z, hh, ww, 2))
        return j.reshape(s, z, hh, ww), in_view(coords, h, w)


@dataclass
class AtlasAffine:
    """The atlas transform: a 2D affine plus an optional free-form field.

    ``A(p) = (I + linear)(p - c) + c + shift + u(p)``, where ``u`` is a coarse per-slice
    displacement on a control grid ``(Z, 2, gh, gw)`` (pixels, ``(dy, dx)``) upsampled bicubically
    to the image grid: the atlas's own deformation of the MvMM (an FFD-like warp), regularised by
    the bending energy of the control grid (:meth:`bending_energy`).

    Attributes:
        linear: ``(2, 2)`` deviation from the identity.
        shift: ``(2,)`` pixels, or ``(Z, 2)``: one per slice (the atlas's slices differ from
            the target's in where the ventricle lies, not only by one rigid offset).
        control: ``(Z, 2, gh, gw)`` control-point displacements in pixels, or ``None``.
    """

    linear: Tensor
    shift: Tensor
    control: Tensor | None = None

    @classmethod
    def identity(cls, device=None, dtype=None) -> AtlasAffine:
        """The identity."""
        dtype = dtype or torch.get_default_dtype()
        zeros = torch.zeros(2, 2, device=device, dtype=dtype)
        return cls(zeros, torch.zeros(2, device=device, dtype=dtype))

    def per_slice(self, n_slices: int) -> AtlasAffine:
        """A copy whose shift is one ``(dy, dx)`` per slice (same values: an equal transform)."""
        out = self.clone()
        if out.shift.dim() == 1:
            out.shift = out.shift.expand(n_slices, 2).clone()
        return out

    def with_control_grid(self, n_slices: int, grid: int) -> AtlasAffine:
        """A copy with a zero ``grid x grid`` control grid per slice (kept if already present)."""
        out = self.clone()
        if out.control is None:
            out.control = torch.zeros(
                n_slices, 2, grid, grid, device=self.shift.device, dtype=self.shift.dtype
            )
        return out

    def refined(self, grid: int) -> AtlasAffine:
        """A copy whose control grid is resampled (bicubic) to ``grid x grid``: same field, finer.

        The bicubic upsampling of a bicubic upsampling is not exactly the same field; the
        difference is small for smooth coarse fields (a simplification of B-spline refinement).
        """
        out = self.clone()
        if out.control is not None and out.control.shape[-1] != grid:
            out.control = F.interpolate(
                out.control, size=(grid, grid), mode="bicubic", align_corners=True
            )
        return out

    def parameters(self) -> list[Tensor]:
        """The optimisable tensors."""
        extra = [self.control] if self.control is not None else []
        return [self.linear, self.shift, *extra]

    def clone(self) -> AtlasAffine:
        """A detached copy."""
        control = None if self.control is None else self.control.detach().clone()
        return AtlasAffine(self.linear.detach().clone(), self.shift.detach().clone(), control)

    def displacement(self, h: int, w: int, region: Region | None = None) -> Tensor | None:
        """The free-form part ``u`` on the grid (or window): ``(Z, H', W', 2)``, or ``None``."""
        if self.control is None:
            return None
        field = F.interpolate(self.control, size=(h, w), mode="bicubic", align_corners=True)
        y0, x0, hh, ww = region if region is not None else (0, 0, h, w)
        return field[:, :, y0 : y0 + hh, x0 : x0 + ww].permute(0, 2, 3, 1)

    def bending_energy(self) -> Tensor:
        """Mean squared second differences of the control grid (pixels per control spacing²)."""
        if self.control is None:
            return self.shift.new_zeros(())
        u = self.control
        dyy = u[..., 2:, :] - 2 * u[..., 1:-1, :] + u[..., :-2, :]
        dxx = u[..., :, 2:] - 2 * u[..., :, 1:-1] + u[..., :, :-2]
        dxy = u[..., 1:, 1:] - u[..., 1:, :-1] - u[..., :-1, 1:] + u[..., :-1, :-1]
        return (dyy**2).mean() + (dxx**2).mean() + 2 * (dxy**2).mean()

    def warp(self, atlas: Tensor, region: Region | None = None) -> Tensor:
        """Warp an atlas ``(K, Z, H, W)`` into the common space (or a window of it)."""
        k, z, h, w = atlas.shape
        eye = torch.eye(2, device=atlas.device, dtype=atlas.dtype)
        if self.shift.dim() == 2 and self.shift.shape[0] != z:
            raise ValueError(f"per-slice shift has {self.shift.shape[0]} slices, the atlas {z}")
        coords = affine_coords(eye + self.linear, self.shift, h, w, region)
        coords = coords if coords.dim() == 4 else coords[None]  # (1 or Z, H', W', 2)
        hh, ww = coords.shape[1:3]
        u = self.displacement(h, w, region)
        if u is not None:
            if u.shape[0] != z:
                raise ValueError(f"control grid has {u.shape[0]} slices, the atlas {z}")
            coords = coords + u
        coords = coords.expand(z, hh, ww, 2)[None].expand(k, z, hh, ww, 2).reshape(k * z, hh, ww, 2)
        return sample(atlas.reshape(k * z, h, w), coords).reshape(k, z, hh, ww)


def rigid_parameter_gradient(
    force: Tensor, images: Tensor, transform: StackRigid
) -> tuple[Tensor, Tensor]:
    """Chain rule from a per-voxel force ``dLL/dJ`` to the rigid parameters.

    ``dLL/dshift_iz = sum_x force_i(x) grad I_i(T(x))`` and
    ``dLL/dangle_i = sum_x force_i(x) grad I_i(T(x)) . R'(angle_i)(x - c)``.

    Args:
        force: ``(S, Z, H, W)`` from :func:`zmic_lessons.mvmm.ascent.intensity_force`.
        images: The sequences in their own spaces, ``(S, Z, H, W)``.
        transform: The transforms at which ``force`` was computed.

    Returns:
        ``(d_angle (S,), d_shift (S, Z, 2))``, zero for fixed sequences.
    """
    s, z, h, w = images.shape
    coords = transform.coords(h, w).detach()
    grad = bilinear_gradient(images.reshape(s * z, h, w), coords.reshape(s * z, h, w, 2))
    vec = force.reshape(s * z, h, w, 1) * grad  # (SZ, H, W, 2)
    d_shift = vec.sum((1, 2)).reshape(s, z, 2)
    angle, _ = transform.effective()
    c, sn = torch.cos(angle), torch.sin(angle)
    d_rot = torch.stack([torch.stack([-sn, -c], -1), torch.stack([c, -sn], -1)], -2)  # (S, 2, 2)
    q = pixel_grid(h, w, images.device, images.dtype) - transform.centre_of(h, w).to(images)
    dq = torch.einsum("sab,hwb->shwa", d_rot.detach(), q)  # (S, H, W, 2)
    d_angle = (vec.reshape(s, z, h, w, 2) * dq[:, None]).sum((1, 2, 3, 4))
    keep = (~transform.fixed).to(images.dtype)
    return d_angle * keep, d_shift * keep[:, None, None]

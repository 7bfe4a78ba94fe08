"""What a fit is given and what it returns: :class:`FitConfig`, :class:`FitStart`,
:class:`MvMMFit`.

Also the region-of-interest geometry a fit works on (:func:`bounding_region`,
:func:`roi_centre`) and the pull-back of common-space posteriors into a sequence's own space
(:func:`to_sequence_space`). The optimiser itself is :mod:`.optimise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .model import MixtureParams, Posteriors
from .transforms import AtlasAffine, Region, StackRigid, rigid_coords, rotation, sample

__all__ = [
    "FitConfig",
    "FitStart",
    "MvMMFit",
    "bounding_region",
    "roi_centre",
    "to_sequence_space",
]


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`~.optimise.fit_mvmm`.

    Attributes:
        n_iter: Outer iterations (split evenly over the smoothing levels).
        em_steps: EM iterations per outer iteration.
        reg_steps: Transform ascent steps per outer iteration.
        smoothing: In-plane Gaussian sigma (pixels) of each coarse-to-fine level.
        register: Optimise the sequence transforms (``False``: the no-registration baseline).
        optimise_atlas: Optimise the atlas translation (its scale comes from
            :func:`~.placement.place_atlas`).
        var_floor: Smallest component variance.
        update_weights: Re-estimate the class weights ``w`` (else they stay uniform: the
            atlas alone is the prior).
        step_px: Initial step (largest displacement change, pixels) of the ascent.
        max_step_px: Largest step.
        radius_px: Length that converts a rotation into a displacement (angle scale).
        atlas_grid: Control points per side of the atlas's free-form deformation (0: the
            atlas only translates). The field is estimated on the same objective as the rest.
        atlas_bending: Weight of the control grid's bending energy in that objective.
        atlas_gem_steps: Inner Adam steps of the atlas's generalized-EM step (0: the atlas
            moves with the sequence transforms in :func:`~.ascent.transform_ascent`). See
            :func:`~.atlas_gem.atlas_gem_step`.
        atlas_lr_px: Adam step (pixels) of that inner loop.
        atlas_coarse_grid: Control points per side of a coarser grid used at every level but
            the last (multi-resolution FFD: the fine grid starts from the coarse field);
            0: the fine grid throughout.
        snapshot_every: Keep posteriors and resampled images every this many iterations
            (0: never) for the notebook's step-through widget.
        max_angle_deg: Largest rotation of a sequence (degrees): the ascent is projected onto
            ``|angle| <= max_angle_deg``, so a rotation the data do not support cannot grow
            without bound while shifts compensate it.
        guard: At the end, keep the starting sequence transforms if they explain the data
            better than the fitted ones (the guard of :mod:`.optimise`): registration never
            ends worse, in likelihood, than it started.
        rotate_about_roi: Rotate each sequence about the centre of the region of interest
            (the heart; :func:`roi_centre`), not the grid's centre. The start is rewritten
            about it (the same transform) and the fit returns its transform about it.
        registration_prior_power: Below 1, the fit runs in two stages (:func:`~.optimise.fit_mvmm`):
            the transforms are estimated with the atlas raised to this power (a flatter
            prior, renormalised over the classes), then the segmentation is the MvMM with the
            atlas itself at those transforms, over the last level. An atlas drawn from other
            hearts differs from this one; at full strength it pulls T2 and LGE towards its
            own anatomy (they turn by degrees to fit it better than the reference does),
            while a flatter prior leaves the sequences to agree with each other.
        registration_n_iter: Outer iterations of that registration stage, split over the
            levels like ``n_iter`` (0: ``n_iter``); the segmentation stage keeps ``n_iter``'s
            last level.
    """

    n_iter: int = 40
    em_steps: int = 2
    reg_steps: int = 2
    smoothing: tuple[float, ...] = (2.0, 1.0)
    register: bool = True
    optimise_atlas: bool = True
    var_floor: float = 1e-4
    update_weights: bool = True
    step_px: float = 1.0
    max_step_px: float = 2.0
    radius_px: float = 30.0
    snapshot_every: int = 0
    atlas_grid: int = 0
    atlas_bending: float = 0.05
    atlas_gem_steps: int = 0
    atlas_lr_px: float = 0.5
    atlas_coarse_grid: int = 0
    max_angle_deg: float = 15.0
    guard: bool = True
    rotate_about_roi: bool = True
    registration_prior_power: float = 1.0
    registration_n_iter: int = 0


@dataclass
class MvMMFit:
    """What :func:`~.optimise.fit_mvmm` returns.

    Attributes:
        params: Final appearance and prior parameters.
        posteriors: Final E-step (``gamma (K, Z, H, W)``, ``rho (S, K, C, Z, H, W)``).
        transform: Recovered sequence/slice transforms.
        atlas_transform: Recovered atlas transform.
        J: Sequences resampled into the common-space window at the last level,
            ``(S, Z, H', W')``.
        coverage: Coverage used at the end, ``(S, Z, H', W')`` bool.
        prior: Warped atlas prior ``pi (K, Z, H', W')`` at the end.
        region: The window ``(y0, x0, H', W')`` of the ``(H, W)`` common grid that was fitted
            (the bounding box of the ROI mask); posteriors, ``J`` and ``prior`` live on it.
        full_shape: ``(Z, H, W)`` of the common grid.
        history: One record per outer iteration: ``iteration``, ``level``, ``sigma``,
            ``ll_em`` (after EM), ``ll`` (after the transform step), ``ll_trace`` (LL before
            each EM iteration), ``step_px``.
        snapshots: ``(iteration, {"gamma", "J", "rho_scar"...})`` for the widget.
        guard: The end-of-fit check (the guard of :mod:`.optimise`): ``ll_fit`` and
            ``ll_start`` (LL at the last level at the fitted and at the starting transforms)
            and ``restored`` (1.0 if the start won and was kept); empty without registration.
    """

    params: MixtureParams
    posteriors: Posteriors
    transform: StackRigid
    atlas_transform: AtlasAffine
    J: Tensor
    coverage: Tensor
    prior: Tensor
    region: Region
    full_shape: tuple[int, int, int]
    history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    guard: dict[str, float] = field(default_factory=dict)

    def embed(self, x: Tensor, fill: float = 0.0) -> Tensor:
        """Place a window ``(..., Z, H', W')`` into the full ``(..., Z, H, W)`` grid."""
        y0, x0, hh, ww = self.region
        out = torch.full(
            (*x.shape[:-2], *self.full_shape[-2:]), fill, dtype=x.dtype, device=x.device
        )
        out[..., y0 : y0 + hh, x0 : x0 + ww] = x
        return out

    @property
    def gamma(self) -> Tensor:
        """Class posteriors on the full common grid ``(K, Z, H, W)`` (background outside)."""
        gamma = self.embed(self.posteriors.gamma)
        outside = self.embed(torch.zeros_like(self.posteriors.gamma[0]), fill=1.0)
        gamma[0] = gamma[0] + outside
        return gamma

    @property
    def segmentation(self) -> Tensor:
        """Common-space labels ``(Z, H, W)`` in class order."""
        return self.gamma.argmax(0)

    def segmentation_in_sequence(self, index: int) -> Tensor:
        """Labels in sequence ``index``'s own space, pulled back through ``T_i^{-1}``."""
        return to_sequence_space(self.gamma, self.transform, index).argmax(0)

    @property
    def ll_history(self) -> list[float]:
        """LL after each outer iteration."""
        return [h["ll"] for h in self.history]


def bounding_region(mask: Tensor, margin: int = 2) -> Region:
    """The smallest window ``(y0, x0, h, w)`` holding every nonzero pixel of ``mask (Z, H, W)``."""
    fg = mask.reshape(-1, *mask.shape[-2:]).ne(0).any(0)
    if not bool(fg.any()):
        raise ValueError("the region-of-interest mask is empty")
    ys = torch.nonzero(fg.any(1)).flatten()
    xs = torch.nonzero(fg.any(0)).flatten()
    h, w = fg.shape
    y0, y1 = max(int(ys[0]) - margin, 0), min(int(ys[-1]) + margin + 1, h)
    x0, x1 = max(int(xs[0]) - margin, 0), min(int(xs[-1]) + margin + 1, w)
    return y0, x0, y1 - y0, x1 - x0


def roi_centre(mask: Tensor) -> Tensor:
    """Centre of mass ``(y, x)`` (pixels) of a region-of-interest mask ``(Z, H, W)``."""
    weight = mask.reshape(-1, *mask.shape[-2:]).to(torch.float64).clamp_min(0).sum(0)
    if not float(weight.sum()) > 0:
        raise ValueError("the region-of-interest mask is empty")
    ys = torch.arange(weight.shape[0], dtype=torch.float64, device=mask.device)
    xs = torch.arange(weight.shape[1], dtype=torch.float64, device=mask.device)
    total = weight.sum()
    centre = torch.stack([(weight.sum(1) * ys).sum() / total, (weight.sum(0) * xs).sum() / total])
    return centre.to(mask.dtype if mask.is_floating_point() else torch.get_default_dtype())


@dataclass(frozen=True)
class FitStart:
    """Where :func:`~.optimise.fit_mvmm` starts (each ``None``: its default).

    Attributes:
        transform: Sequence transforms (default: identity, ``reference`` fixed).
        atlas_transform: Atlas transform (default: identity).
        params: ``Theta`` (default: prior-weighted moments, :func:`~.model.init_params`).
        reference: Sequence that defines the common space (kept at the identity).
    """

    transform: StackRigid | None = None
    atlas_transform: AtlasAffine | None = None
    params: MixtureParams | None = None
    reference: int = 0


def to_sequence_space(gamma: Tensor, transform: StackRigid, index: int) -> Tensor:
    """Pull common-space posteriors ``(K, Z, H, W)`` back into sequence ``index``'s space.

    Uses ``T^{-1}(q) = R(-angle)(q - c - shift) + c``.
    """
    k, z, h, w = gamma.shape
    angle, shift = transform.effective()
    a = -angle[index].detach().expand(z)
    inv_shift = -(rotation(a) @ shift[index].detach()[..., None]).squeeze(-1)
    coords = rigid_coords(a, inv_shift, h, w, centre=transform.centre)  # (Z, H, W, 2)
    coords = coords[None].expand(k, -1, -1, -1, -1).reshape(k * z, h, w, 2)
    return sample(gamma.reshape(k * z, h, w), coords).reshape(k, z, h, w)

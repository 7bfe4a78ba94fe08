"""Joint optimisation (Q5): EM for the appearance and prior, ascent on the transforms, one LL.

One outer iteration at a fixed smoothing level:

1. resample the sequences by the current transforms ``Phi`` and the atlas by its own transform;
2. ``em_steps`` EM iterations for ``Theta = {w, tau, mu, var}`` (LL cannot decrease);
3. ``reg_steps`` preconditioned gradient-ascent steps on ``Phi`` with ``Theta`` frozen, each
   accepted only if LL increases (backtracking), so LL cannot decrease either.

This is the iterated-conditional-modes scheme of the MvMM papers: block-coordinate ascent on
the same objective ``LL(Theta, Phi)``. A coarse-to-fine schedule smooths the images (a larger
capture range first); LL is monotone within each level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .ascent import AscentState, transform_ascent
from .atlas_gem import atlas_gem_step
from .em_fused import em
from .fit_types import (
    FitConfig,
    FitStart,
    MvMMFit,
    bounding_region,
    roi_centre,
    to_sequence_space,
)
from .model import (
    MixtureParams,
    e_step,
    init_params,
    log_likelihood,
    log_prior_from_atlas,
)
from .transforms import (
    AtlasAffine,
    Region,
    StackRigid,
    gaussian_smooth2d,
)

__all__ = [
    "FitConfig",
    "FitStart",
    "MvMMFit",
    "atlas_gem_step",
    "bounding_region",
    "fit_mvmm",
    "roi_centre",
    "tempered_atlas",
    "to_sequence_space",
]


def _split(n_iter: int, n_levels: int) -> list[int]:
    base, extra = divmod(n_iter, n_levels)
    return [base + (1 if i < extra else 0) for i in range(n_levels)]


def _resample(
    images: Tensor,
    atlas: Tensor,
    transform: StackRigid,
    atlas_transform: AtlasAffine,
    slice_coverage: Tensor,
    region: Region,
) -> tuple[Tensor, Tensor, Tensor]:
    """``J``, coverage and the warped atlas prior at the current transforms, on ``region``."""
    j, fov = transform.resample(images, region)
    coverage = fov & slice_coverage[:, :, None, None]
    return j, coverage, atlas_transform.warp(atlas, region)


@dataclass
class _Problem:
    """The fixed part of a fit: atlas, components, coverage and ROI on the fitted window."""

    atlas: Tensor
    active: Tensor
    slice_coverage: Tensor
    mask: Tensor
    region: Region
    config: FitConfig
    fine_grid: int
    coarse_grid: int


@dataclass
class _State:
    """What a fit changes: transforms, parameters, the ascent's memory and the records."""

    transform: StackRigid
    atlas_transform: AtlasAffine
    params: MixtureParams | None
    ascent: AscentState
    start: StackRigid
    history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    iteration: int = 0
    guard: dict[str, float] = field(default_factory=dict)


def _setup(
    images: Tensor,
    atlas: Tensor,
    active: Tensor,
    slice_coverage: Tensor | None,
    mask: Tensor | None,
    config: FitConfig,
    start: FitStart,
) -> tuple[_Problem, _State]:
    """Check shapes, crop the ROI's bounding box, and start the transforms and parameters."""
    s, z, h, w = images.shape
    device, dtype = images.device, images.dtype
    if atlas.shape[1:] != (z, h, w):
        raise ValueError(f"atlas {tuple(atlas.shape)} does not match the images {(s, z, h, w)}")
    if slice_coverage is None:
        slice_coverage = torch.ones(s, z, dtype=torch.bool, device=device)
    if mask is None:
        mask = torch.ones(z, h, w, device=device, dtype=dtype)
    region = bounding_region(mask)
    y0, x0, hh, ww = region
    fine = config.atlas_grid if config.optimise_atlas else 0
    problem = _Problem(
        atlas, active, slice_coverage.to(device=device, dtype=torch.bool),
        mask[..., y0 : y0 + hh, x0 : x0 + ww].to(dtype), region, config, fine,
        config.atlas_coarse_grid if fine > 0 else 0,
    )  # fmt: skip
    transform = start.transform or StackRigid.identity(s, z, start.reference, device, dtype)
    if config.rotate_about_roi:
        transform = transform.recentred(roi_centre(mask), h, w)
    atlas_transform = (start.atlas_transform or AtlasAffine.identity(device, dtype)).clone()
    if fine > 0:
        atlas_transform = atlas_transform.with_control_grid(z, problem.coarse_grid or fine)
    state = _State(
        transform.clone(),
        atlas_transform,
        start.params,
        AscentState(step=config.step_px),
        start=transform.clone(),
    )
    return problem, state


def _atlas_gem(p: _Problem, st: _State, j: Tensor, coverage: Tensor, prior: Tensor) -> None:
    """The atlas's generalized-EM step at the current posteriors (:func:`atlas_gem_step`)."""
    params, mask, n_vox = st.params, p.mask, float(p.mask.sum())
    assert params is not None
    with torch.no_grad():
        post = e_step(j, params, log_prior_from_atlas(prior, params.w), coverage, mask)

    def marginal(at=st.atlas_transform) -> Tensor:
        pri = at.warp(p.atlas, p.region)
        ll = log_likelihood(j, params, log_prior_from_atlas(pri, params.w), coverage, mask)
        return ll / n_vox - p.config.atlas_bending * at.bending_energy()

    atlas_gem_step(
        post.gamma, p.atlas, st.atlas_transform, params.w, mask, p.region, p.config, marginal
    )


def _ascent_tensors(p: _Problem, st: _State) -> tuple[list[Tensor], list[float]]:
    """The tensors the transform ascent moves and their units per pixel."""
    tensors: list[Tensor] = []
    scales: list[float] = []
    if p.config.register:
        tensors += st.transform.parameters()
        scales += [1.0 / p.config.radius_px, 1.0]
    if p.config.optimise_atlas and p.config.atlas_gem_steps == 0:
        tensors += [st.atlas_transform.shift]
        scales += [1.0]

        if st.atlas_transform.control is not None:
            tensors += [st.atlas_transform.control]
            scales += [1.0]
    return tensors, scales


def _transform_step(p: _Problem, st: _State, smoothed: Tensor, coverage: Tensor) -> float | None:
    """``reg_steps`` of ascent on the transforms with ``Theta`` frozen; ``None`` if none moved.

    The coverage is frozen during the step: letting samples leave the field of view would make
    LL jump (a voxel dropping out is marginalised), which the ascent would exploit.
    """
    tensors, scales = _ascent_tensors(p, st)
    if not tensors or p.config.reg_steps <= 0:
        return None
    assert st.params is not None
    frozen, n_vox, at = st.params.detach(), float(p.mask.sum()), st.atlas_transform

    def objective() -> Tensor:
        jj, _, pri = _resample(smoothed, p.atlas, st.transform, at, p.slice_coverage, p.region)
        ll = log_likelihood(jj, frozen, log_prior_from_atlas(pri, frozen.w), coverage, p.mask)
        return ll / n_vox - p.config.atlas_bending * at.bending_energy()

    cfg = p.config
    bound = math.radians(cfg.max_angle_deg)

    def project(angle: Tensor = st.transform.angle) -> None:
        angle.clamp_(-bound, bound)

    st.ascent.project = project
    value = transform_ascent(objective, tensors, scales, st.ascent, cfg.max_step_px, cfg.reg_steps)
    return value * n_vox


def _outer_iteration(p: _Problem, st: _State, smoothed: Tensor, level: int, sigma: float):
    """One outer iteration: resample, EM, the atlas's GEM step, the transform ascent, records."""
    cfg = p.config
    with torch.no_grad():
        j, coverage, prior = _resample(
            smoothed, p.atlas, st.transform, st.atlas_transform, p.slice_coverage, p.region
        )
        if st.params is None:
            st.params = init_params(j, prior, p.active, coverage, p.mask, 1.0, cfg.var_floor)
    st.params, trace = em(
        j, st.params, prior, coverage, p.mask, cfg.em_steps, cfg.var_floor, cfg.update_weights
    )
    with torch.no_grad():
        log_prior = log_prior_from_atlas(prior, st.params.w)
        ll_em = float(log_likelihood(j, st.params, log_prior, coverage, p.mask))
    if cfg.optimise_atlas and cfg.atlas_gem_steps > 0:
        _atlas_gem(p, st, j, coverage, prior)
    ll = _transform_step(p, st, smoothed, coverage)
    record = {
        "iteration": st.iteration, "level": level, "sigma": sigma, "ll_em": ll_em,
        "ll": ll_em if ll is None else ll, "ll_trace": trace, "step_px": st.ascent.step,
    }  # fmt: skip
    st.history.append(record)
    if cfg.snapshot_every and st.iteration % cfg.snapshot_every == 0:
        with torch.no_grad():
            post = e_step(j, st.params, log_prior, coverage, p.mask)
        st.snapshots.append((st.iteration, {"gamma": post.gamma.clone(), "J": j.clone()}))
    st.iteration += 1
    return record


def fit_mvmm(
    images: Tensor,
    atlas: Tensor,
    active: Tensor,
    *,
    slice_coverage: Tensor | None = None,
    mask: Tensor | None = None,
    config: FitConfig = FitConfig(),
    start: FitStart = FitStart(),
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> MvMMFit:
    """Fit an MvMM to ``S`` stacks: EM for ``Theta`` alternating with ascent on ``Phi``.

    With ``config.registration_prior_power < 1`` (and a sequence to register) the fit has two
    stages, each monotone in its own LL: the registration with the flattened atlas
    (:func:`tempered_atlas`) over every level, then the MvMM with the atlas itself at the
    registered transforms over the last level (``history`` records ``stage`` 0 and 1, the
    second as one more ``level``; the guard is the registration stage's).

    Args:
        images: Sequences in their own spaces, ``(S, Z, H, W)`` (intensities roughly in [0, 1]).
        atlas: Probabilistic atlas in the common space, ``(K, Z, H, W)``, strictly positive.
        active: Components per (sequence, class), bool ``(S, K, C)``.
        slice_coverage: Which slices each sequence has, bool ``(S, Z)`` (default: all).
        mask: ROI ``(Z, H, W)`` (default: everywhere). Only its bounding box is fitted.
        config: :class:`FitConfig`.
        start: Initial transforms and parameters (:class:`FitStart`).
        callback: Called after every outer iteration with the history record.

    Returns:
        :class:`MvMMFit`.
    """
    fixed = None if start.transform is None else start.transform.fixed
    moving = images.shape[0] - 1 if fixed is None else int((~fixed).sum())
    if config.register and config.registration_prior_power < 1.0 and moving > 0:
        return _two_stage(images, atlas, active, slice_coverage, mask, config, start, callback)
    p, st = _setup(images, atlas, active, slice_coverage, mask, config, start)
    levels = config.smoothing or (0.0,)
    for level, (sigma, n_level) in enumerate(
        zip(levels, _split(config.n_iter, len(levels)), strict=True)
    ):
        smoothed = gaussian_smooth2d(images, sigma)
        if p.coarse_grid and level == len(levels) - 1:
            st.atlas_transform = st.atlas_transform.refined(p.fine_grid)
        for _ in range(n_level):
            record = _outer_iteration(p, st, smoothed, level, sigma)
            if callback is not None:
                callback(record)
        st.ascent.step = max(st.ascent.step, config.step_px * 0.5)
    if config.register and config.guard:
        _guard(p, st, smoothed)
    return _finish(p, st, smoothed, images.shape[1:])


def tempered_atlas(atlas: Tensor, power: float) -> Tensor:
    """``atlas ** power`` renormalised over the classes (``(K, Z, H, W)``): a flatter prior."""
    flat = atlas.clamp_min(1e-30) ** power
    return flat / flat.sum(0, keepdim=True)


def _two_stage(images, atlas, active, slice_coverage, mask, config, start, callback) -> MvMMFit:
    """Registration with the tempered atlas, then segmentation with the atlas (see fit_mvmm)."""
    one = dataclasses.replace(config, registration_prior_power=1.0)
    kwargs = {"slice_coverage": slice_coverage, "mask": mask, "callback": callback}
    reg = fit_mvmm(
        images, tempered_atlas(atlas, config.registration_prior_power), active,
        config=dataclasses.replace(one, n_iter=config.registration_n_iter or config.n_iter),
        start=start, **kwargs,
    )  # fmt: skip
    levels = config.smoothing or (0.0,)
    last = max(_split(config.n_iter, len(levels))[-1], 1)
    seg_config = dataclasses.replace(one, register=False, smoothing=(levels[-1],), n_iter=last)
    seg_start = FitStart(
        transform=reg.transform, atlas_transform=reg.atlas_transform, reference=start.reference
    )
    fit = fit_mvmm(images, atlas, active, config=seg_config, start=seg_start, **kwargs)
    for record in reg.history:
        record["stage"] = 0
    for record in fit.history:  # the segmentation stage is one more level
        record["stage"], record["level"] = 1, len(levels)
        record["iteration"] += len(reg.history)
    fit.history = reg.history + fit.history
    n = len(reg.history)
    fit.snapshots = reg.snapshots + [(i + n, snap) for i, snap in fit.snapshots]
    fit.guard = reg.guard
    return fit


def _ll_after_em(
    p: _Problem, st: _State, smoothed: Tensor, transform: StackRigid
) -> tuple[MixtureParams, float]:
    """``Theta`` after ``max(em_steps, 1)`` EM steps from the fit's, and its LL.

    Args:
        transform: The sequence transforms to score (the atlas stays as fitted).
    """
    cfg = p.config
    assert st.params is not None
    with torch.no_grad():
        j, coverage, prior = _resample(
            smoothed, p.atlas, transform, st.atlas_transform, p.slice_coverage, p.region
        )
    params, _ = em(
        j, st.params, prior, coverage, p.mask, max(cfg.em_steps, 1), cfg.var_floor,
        cfg.update_weights,
    )  # fmt: skip
    with torch.no_grad():
        ll = log_likelihood(j, params, log_prior_from_atlas(prior, params.w), coverage, p.mask)
    return params, float(ll)


def _guard(p: _Problem, st: _State, smoothed: Tensor) -> None:
    """Registration never ends worse than it started: compare the fitted and starting transforms.

    At the last level, with the fitted atlas, ``Theta`` takes the same EM iterations from its
    fitted value at the fitted transforms and at the starting ones, and the two LLs are
    compared. If the start explains the data better (the ascent climbed into a worse basin,
    e.g. a rotation compensated by shifts), the fit goes back to the starting transforms and
    their ``Theta``; otherwise the fit is left exactly as it is. Records ``st.guard``.
    """
    _, ll_fit = _ll_after_em(p, st, smoothed, st.transform)
    params_start, ll_start = _ll_after_em(p, st, smoothed, st.start)
    restored = ll_start > ll_fit
    if restored:
        st.transform, st.params = st.start.clone(), params_start
    st.guard = {"ll_fit": ll_fit, "ll_start": ll_start, "restored": float(restored)}


def _finish(p: _Problem, st: _State, smoothed: Tensor, full_shape) -> MvMMFit:
    """The final E-step at the last level's resampling, packed as an :class:`MvMMFit`."""
    assert st.params is not None
    with torch.no_grad():
        j, coverage, prior = _resample(
            smoothed, p.atlas, st.transform, st.atlas_transform, p.slice_coverage, p.region
        )
        log_prior = log_prior_from_atlas(prior, st.params.w)
        post = e_step(j, st.params, log_prior, coverage, p.mask)
    return MvMMFit(
        params=st.params, posteriors=post, transform=st.transform,
        atlas_transform=st.atlas_transform, J=j, coverage=coverage, prior=prior,
        region=p.region, full_shape=tuple(full_shape), history=st.history,
        snapshots=st.snapshots, guard=st.guard,
    )  # fmt: skip

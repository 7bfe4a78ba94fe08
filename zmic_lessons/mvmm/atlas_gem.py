"""The atlas transform's generalized-EM step (Q4): the prior's own update inside the MvMM fit."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .fit_types import FitConfig
from .model import log_prior_from_atlas
from .transforms import AtlasAffine, Region

__all__ = ["atlas_gem_step"]


def atlas_gem_step(
    gamma: Tensor,
    atlas: Tensor,
    atlas_transform: AtlasAffine,
    w: Tensor,
    mask: Tensor,
    region: Region,
    config: FitConfig,
    marginal: Callable[[], Tensor],
) -> float:
    """Generalized-EM step on the atlas transform (modifies ``atlas_transform`` in place).

    With the posteriors ``gamma`` of the E-step fixed, the atlas part of the EM auxiliary
    function is ``Q(theta) = sum_x m(x) sum_k gamma_k(x) log pi_k(A_theta(x))``; its gradient at
    the current ``theta`` equals that of the marginal LL, and raising ``Q`` raises LL (the EM
    inequality). ``Q`` needs only the atlas warp, not the images, so it is cheap:
    ``config.atlas_gem_steps`` Adam steps (learning rate ``config.atlas_lr_px`` pixels) on
    ``Q / n - atlas_bending * BE`` over the shift and the control grid. The step is kept only if
    the marginal objective ``marginal()`` (``LL / n - atlas_bending * BE``) increases, else the
    transform is restored: the fit stays monotone.

    Args:
        gamma: ``(K, Z, H', W')`` posteriors on ``region``; atlas: ``(K, Z, H, W)``;
        w: class weights ``(K,)``; mask: ``(Z, H', W')``.
        config: The fit's configuration (``atlas_gem_steps``, ``atlas_lr_px``,
            ``atlas_bending``).
        marginal: Evaluates the marginal objective at the current transform (no grad needed).

    Returns:
        The marginal objective after the step.
    """
    n_vox = float(mask.sum())
    with torch.no_grad():
        before = float(marginal())
    tensors = [atlas_transform.shift]
    if atlas_transform.control is not None:
        tensors.append(atlas_transform.control)
    old = [t.detach().clone() for t in tensors]
    weights = gamma.detach() * mask[None]
    for t in tensors:
        t.requires_grad_(True)
    opt = torch.optim.Adam(tensors, lr=config.atlas_lr_px)
    for _ in range(config.atlas_gem_steps):
        opt.zero_grad()
        log_prior = log_prior_from_atlas(atlas_transform.warp(atlas, region), w)
        q = (weights * log_prior).sum() / n_vox
        (-(q - config.atlas_bending * atlas_transform.bending_energy())).backward()
        opt.step()
    for t in tensors:
        t.requires_grad_(False)
        t.grad = None
    with torch.no_grad():
        after = float(marginal())
        if after <= before:
            for t, o in zip(tensors, old, strict=True):
                t.copy_(o)
            return before
    return after

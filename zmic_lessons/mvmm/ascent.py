"""The transform update (Q2, Q5): ascent on the sequence and atlas transforms, ``Theta`` frozen.

With the appearance and prior parameters ``Theta`` fixed, the transforms ``Phi`` climb the same
log-likelihood as EM. Its derivative with respect to a resampled intensity is the
posterior-weighted force (:func:`intensity_force`)::

    dLL/dJ_i(x) = m(x) c_i(x) sum_k gamma_k(x) sum_c rho_ikc(x) (mu_ikc - J_i(x)) / var_ikc

and the chain rule through the resampling ``J_i(x) = I_i(T_i(x))`` gives each transform's
gradient (:func:`.transforms.rigid_parameter_gradient`; autograd computes the same, which
``tests/test_mvmm_model.py`` checks). :func:`transform_ascent` takes preconditioned,
backtracking steps along it, each kept only if LL increases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import MixtureParams, Posteriors, _expand

__all__ = ["AscentState", "intensity_force", "transform_ascent"]


def intensity_force(
    J: Tensor,
    post: Posteriors,
    params: MixtureParams,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """``dLL/dJ_i(x) = m(x) c_i(x) sum_k gamma_k sum_c rho_ikc (mu_ikc - J_i(x)) / var_ikc``.

    Multiplied by the image gradient at ``T_i(x)`` this is the posterior-weighted force that
    pulls every sample towards the mean of the component that explains it (mvmm.md, 1.5).

    Returns:
        ``(S, *spatial)``.
    """
    n = J.ndim - 1
    mu = _expand(params.mu, n)
    var = _expand(params.var, n)
    pull = torch.where(
        _expand(params.active, n),
        post.rho * (mu - J[:, None, None]) / var,
        torch.zeros((), dtype=J.dtype),
    )
    force = (post.gamma[None] * pull.sum(2)).sum(1)
    if coverage is not None:
        force = force * coverage.to(J.dtype)
    if mask is not None:
        force = force * mask.to(J.dtype)[None]
    return force


@dataclass
class AscentState:
    """Memory of :func:`transform_ascent` between calls.

    Attributes:
        step: Current step length (pixels).
        sq: Running mean of the squared gradients (in pixel units), one tensor per parameter.
        project: Called (without gradients) after every trial move to put the parameters back
            into their feasible set, e.g. clamp a rotation (``None``: unconstrained).
    """

    step: float
    sq: list[Tensor] | None = None
    project: Callable[[], None] | None = None


def transform_ascent(
    objective: Callable[[], Tensor],
    tensors: list[Tensor],
    scales: list[float],
    state: AscentState,
    max_step_px: float,
    n_steps: int,
    max_halvings: int = 6,
    decay: float = 0.8,
) -> float:
    """Backtracking, diagonally preconditioned gradient ascent (modifies ``tensors`` in place).

    Each parameter is measured in pixels (``scales``: units per pixel, e.g. 1 / radius for an
    angle) and its gradient is divided by the root of its running mean square (RMSprop
    without momentum). The preconditioner is positive, so the direction is an ascent
    direction, and a step is kept only if the objective increases: the objective never
    decreases, whatever the conditioning of rotations against translations. ``state.project``
    (optional, called without gradients after every trial move) maps the parameters back into
    a feasible set, e.g. a bounded rotation; the objective is scored at the projected point,
    so the ascent stays monotone.

    Returns:
        The final objective value; ``state`` holds the step to start from next time.
    """
    for t in tensors:
        t.requires_grad_(True)
    value = objective()
    for _ in range(n_steps):
        grads = [g * s for g, s in zip(torch.autograd.grad(value, tensors), scales, strict=True)]
        # restart the running mean when the parameters change (e.g. a refined control grid)
        if state.sq is None or [q.shape for q in state.sq] != [g.shape for g in grads]:
            state.sq = [g * g for g in grads]
        else:
            state.sq = [
                decay * q + (1 - decay) * g * g for q, g in zip(state.sq, grads, strict=True)
            ]
        directions = [
            g / (q.sqrt() + 1e-12) * s for g, q, s in zip(grads, state.sq, scales, strict=True)
        ]
        if not any(bool((g != 0).any()) for g in grads):
            break
        old = [t.detach().clone() for t in tensors]
        accepted = False
        for _ in range(max_halvings):
            with torch.no_grad():
                for t, o, d in zip(tensors, old, directions, strict=True):
                    t.copy_(o + state.step * d)
                if state.project is not None:
                    state.project()
            trial = objective()
            if float(trial.detach()) > float(value.detach()):
                value = trial
                state.step = min(state.step * 1.5, max_step_px)
                accepted = True
                break
            state.step *= 0.5
        if not accepted:
            with torch.no_grad():
                for t, o in zip(tensors, old, strict=True):
                    t.copy_(o)
            break
    state.step = max(state.step, 1e-3)
    for t in tensors:
        t.requires_grad_(False)
    return float(value.detach())

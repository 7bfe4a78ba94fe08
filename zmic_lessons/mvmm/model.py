"""The multivariate mixture model (MvMM; Zhuang, TPAMI 2019): densities, E/M steps, likelihood.

Notation (all tensors, any device, float32 or float64):

- ``S`` sequences (e.g. bSSFP, T2, LGE), ``K`` tissue classes, ``C`` the largest number of
  Gaussian components a (sequence, class) pair has; unused components are switched off by
  ``active`` and carry ``tau = 0``.
- ``J``: the sequences resampled into the common space, shape ``(S, *spatial)``; ``J[i](x)`` is
  ``I_i(T_i(x))``.
- ``coverage``: ``(S, *spatial)`` in {0, 1}; 0 where sequence ``i`` does not see ``x`` (outside its
  field of view or a slice it lacks). Such a sequence is *marginalised* there (generalized MvMM).
- ``log_prior``: ``(K, *spatial)``, ``log pi_k(x)`` from the atlas and the class weights.
- ``mask``: ``(*spatial)`` region of interest ``m(x)`` in {0, 1} (or weights in [0, 1]).

The model at a voxel ``x``::

    p(I(x)) = sum_k pi_k(x) prod_i f_ik(J_i(x)) ** coverage_i(x)
    f_ik(v) = sum_c tau_ikc N(v; mu_ikc, var_ikc)
    LL      = sum_x m(x) log p(I(x))

Everything is computed in the log domain with ``logsumexp``, so there is no clamping inside
a logarithm and EM is exactly monotone (see ``tests/test_mvmm_model.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class MixtureParams:
    """Appearance and prior parameters ``Theta`` of an MvMM.

    Attributes:
        w: Class weights, shape ``(K,)``, positive, summing to 1.
        tau: Component weights, ``(S, K, C)``; each active ``(i, k)`` row sums to 1.
        mu: Component means, ``(S, K, C)`` (image intensity units).
        var: Component variances, ``(S, K, C)``, at least ``var_floor``.
        active: Which components exist, bool ``(S, K, C)``.
    """

    w: Tensor
    tau: Tensor
    mu: Tensor
    var: Tensor
    active: Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(S, K, C)``."""
        s, k, c = self.mu.shape
        return s, k, c

    def detach(self) -> MixtureParams:
        """A copy without autograd history."""
        return MixtureParams(*(t.detach().clone() for t in self._tensors()))

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        """Move floating tensors to ``device``/``dtype`` (``active`` stays bool)."""
        f = dict(device=device, dtype=dtype)
        return MixtureParams(
            self.w.to(**f),
            self.tau.to(**f),
            self.mu.to(**f),
            self.var.to(**f),
            self.active.to(device=device),
        )

    def _tensors(self) -> tuple[Tensor, ...]:
        return self.w, self.tau, self.mu, self.var, self.active


@dataclass
class Posteriors:
    """Result of an E-step.

    Attributes:
        gamma: Class posteriors ``gamma_k(x)``, ``(K, *spatial)``, summing to 1 over ``k``.
        rho: Within-class component responsibilities ``rho_ikc(x)``, ``(S, K, C, *spatial)``,
            summing to 1 over active ``c``.
        ll: The log-likelihood at the parameters used for this E-step (scalar tensor).
    """

    gamma: Tensor
    rho: Tensor
    ll: Tensor


def active_from_counts(counts: list[list[int]] | Tensor, device=None) -> Tensor:
    """Boolean ``(S, K, C)`` mask from component counts ``(S, K)``.

    Args:
        counts: ``counts[i][k]`` components for sequence ``i`` and class ``k`` (each >= 1).
        device: Target device.
    """
    counts_t = torch.as_tensor(counts, dtype=torch.long, device=device)
    if counts_t.ndim != 2 or int(counts_t.min()) < 1:
        raise ValueError(f"component counts must be an (S, K) table of ints >= 1, got {counts}")
    c_max = int(counts_t.max())
    return torch.arange(c_max, device=device).view(1, 1, -1) < counts_t.unsqueeze(-1)


def _expand(t: Tensor, n_spatial: int) -> Tensor:
    return t.reshape(t.shape + (1,) * n_spatial)


def component_log_density(J: Tensor, params: MixtureParams) -> Tensor:
    """``log tau_ikc + log N(J_i(x); mu_ikc, var_ikc)``, ``-inf`` for inactive components.

    Args:
        J: Sequences in the common space, ``(S, *spatial)``.
        params: Mixture parameters with matching ``S``.

    Returns:
        ``(S, K, C, *spatial)``.
    """
    s, _, _ = params.shape
    if J.shape[0] != s:
        raise ValueError(f"J has {J.shape[0]} sequences but the parameters have {s}")
    n = J.ndim - 1
    mu = _expand(params.mu, n)
    var = _expand(params.var, n)
    log_tau = _expand(torch.where(params.active, params.tau.log(), -math.inf), n)
    v = J[:, None, None]
    return log_tau - 0.5 * (_LOG_2PI + var.log() + (v - mu) ** 2 / var)


def class_log_likelihood(
    J: Tensor, params: MixtureParams, coverage: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """``sum_i coverage_i(x) log f_ik(J_i(x))`` and the component log densities.

    Returns:
        ``(log p(I(x) | k) of shape (K, *spatial), component log densities (S, K, C, *spatial))``.
    """
    log_comp = component_log_density(J, params)
    log_f = torch.logsumexp(log_comp, dim=2)  # (S, K, *spatial)
    if coverage is not None:
        log_f = log_f * coverage.to(log_f.dtype)[:, None]
    return log_f.sum(dim=0), log_comp


def log_prior_from_atlas(atlas: Tensor, w: Tensor) -> Tensor:
    """``log pi_k(x) = log w_k + log A_k(x) - log sum_l w_l A_l(x)``.

    Args:
        atlas: Probabilistic atlas in the common space, ``(K, *spatial)``, strictly positive.
        w: Class weights ``(K,)``.

    Returns:
        ``(K, *spatial)`` log prior, normalised over ``k``.
    """
    log_wa = _expand(w.log(), atlas.ndim - 1) + atlas.log()
    return log_wa - torch.logsumexp(log_wa, dim=0, keepdim=True)


def log_likelihood(
    J: Tensor,
    params: MixtureParams,
    log_prior: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Differentiable ``LL = sum_x m(x) log sum_k pi_k(x) prod_i f_ik(J_i(x)) ** coverage_i(x)``."""
    log_lik, _ = class_log_likelihood(J, params, coverage)
    ll_x = torch.logsumexp(log_prior + log_lik, dim=0)
    return ll_x.sum() if mask is None else (mask.to(ll_x.dtype) * ll_x).sum()


def e_step(
    J: Tensor,
    params: MixtureParams,
    log_prior: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
) -> Posteriors:
    """E-step: class posteriors ``gamma`` and component responsibilities ``rho``."""
    log_lik, log_comp = class_log_likelihood(J, params, coverage)
    log_joint = log_prior + log_lik
    log_px = torch.logsumexp(log_joint, dim=0)
    gamma = torch.exp(log_joint - log_px)
    rho = torch.exp(log_comp - torch.logsumexp(log_comp, dim=2, keepdim=True))
    ll = log_px.sum() if mask is None else (mask.to(log_px.dtype) * log_px).sum()
    return Posteriors(gamma=gamma, rho=rho, ll=ll)


def update_class_weights(
    gamma: Tensor, atlas: Tensor, w: Tensor, mask: Tensor | None = None, n_iter: int = 1
) -> Tensor:
    """Class weights by minorise-maximise: ``w_k <- sum m gamma_k / sum m A_k / sum_l w_l A_l``.

    ``-log sum_l w_l A_l(x)`` is bounded below by its tangent at the current ``w``, so each
    update maximises a minoriser of the expected complete log-likelihood: it cannot decrease it.

    Returns:
        New weights ``(K,)`` summing to 1.
    """
    n = atlas.ndim - 1
    m = torch.ones_like(atlas[0]) if mask is None else mask.to(atlas.dtype)
    counts = (gamma * m).flatten(1).sum(1)
    for _ in range(n_iter):
        denom = (atlas * _expand(w, n)).sum(0)
        w = counts / (m * atlas / denom).flatten(1).sum(1)
        w = w.clamp_min(1e-12)
        w = w / w.sum()
    return w


def m_step(
    J: Tensor,
    post: Posteriors,
    params: MixtureParams,
    atlas: Tensor | None = None,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
    var_floor: float = 1e-4,
    update_weights: bool = True,
) -> MixtureParams:
    """M-step: closed-form ``tau, mu, var`` and the minorise-maximise class weights ``w``.

    Each voxel counts with weight ``m(x) coverage_i(x)`` for sequence ``i``. A component whose
    responsibility mass is negligible keeps its previous parameters.

    Args:
        J: ``(S, *spatial)``; post: the E-step at ``params``; atlas: ``(K, *spatial)`` (needed
            for ``w``); coverage: ``(S, *spatial)``; mask: ``(*spatial)``.
        var_floor: Lower bound on variances (the constrained maximiser is ``max(var, floor)``).
        update_weights: Update ``w`` (needs ``atlas``).

    Returns:
        New :class:`MixtureParams`.
    """
    weight = torch.ones_like(J)
    if coverage is not None:
        weight = weight * coverage.to(J.dtype)
    if mask is not None:
        weight = weight * mask.to(J.dtype)[None]
    r = post.gamma[None, :, None] * post.rho * weight[:, None, None]  # (S, K, C, *spatial)
    r = r.flatten(3)
    jf = J.flatten(1)[:, None, None]  # (S, 1, 1, N)
    n_ikc = r.sum(-1)
    n_ik = n_ikc.sum(-1, keepdim=True)
    eps = torch.finfo(J.dtype).tiny * 1e6
    ok = (n_ikc > 1e-8) & params.active
    safe = n_ikc.clamp_min(eps)
    mu = torch.where(ok, (r * jf).sum(-1) / safe, params.mu)
    var = torch.where(ok, (r * (jf - mu[..., None]) ** 2).sum(-1) / safe, params.var)
    var = var.clamp_min(var_floor)
    tau_new = n_ikc / n_ik.clamp_min(eps)
    row_ok = (n_ik > 1e-8).expand_as(tau_new)
    tau = torch.where(row_ok & params.active, tau_new, params.tau)
    tau = torch.where(params.active, tau, torch.zeros_like(tau))
    w = params.w
    if update_weights:
        if atlas is None:
            raise ValueError("m_step(update_weights=True) needs the atlas")
        w = update_class_weights(post.gamma, atlas, params.w, mask)
    return MixtureParams(w=w, tau=tau, mu=mu, var=var, active=params.active)


def init_params(
    J: Tensor,
    prior: Tensor,
    active: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
    spread: float = 1.0,
    var_floor: float = 1e-4,
) -> MixtureParams:
    """Prior-weighted moments per (sequence, class); components spread at ``mu + spread*sd*t``.

    For ``C`` components, ``t`` runs evenly over ``[-1, 1]`` (one component sits at the class
    mean), so a second myocardial component starts brighter than the first: the scar (LGE) or
    oedema (T2) candidate.

    Args:
        J: ``(S, *spatial)``; prior: ``pi_k(x)`` as probabilities ``(K, *spatial)``;
        active: ``(S, K, C)`` from :func:`active_from_counts`.

    Returns:
        Initial :class:`MixtureParams` with uniform ``tau`` and uniform ``w`` (so that the
        prior starts as the atlas itself).
    """
    s, k, c = active.shape
    weight = torch.ones_like(J)
    if coverage is not None:
        weight = weight * coverage.to(J.dtype)
    if mask is not None:
        weight = weight * mask.to(J.dtype)[None]
    r = (prior[None] * weight[:, None]).flatten(2)  # (S, K, N)
    jf = J.flatten(1)[:, None]
    n = r.sum(-1).clamp_min(1e-12)
    mean = (r * jf).sum(-1) / n
    var = ((r * (jf - mean[..., None]) ** 2).sum(-1) / n).clamp_min(var_floor)
    counts = active.sum(-1)  # (S, K)
    idx = torch.arange(c, device=J.device, dtype=J.dtype)
    t = torch.where(
        counts[..., None] > 1,
        2.0 * idx / (counts[..., None] - 1).clamp_min(1).to(J.dtype) - 1.0,
        torch.zeros((), dtype=J.dtype, device=J.device),
    )
    sd = var.sqrt()[..., None]
    mu = mean[..., None] + spread * sd * t
    var_c = (var / counts.to(J.dtype)).clamp_min(var_floor)[..., None].expand(s, k, c)
    tau = active.to(J.dtype) / counts[..., None].to(J.dtype)
    w = torch.full((k,), 1.0 / k, dtype=J.dtype, device=J.device)
    return MixtureParams(w=w, tau=tau, mu=mu, var=var_c.clone(), active=active)


def em(
    J: Tensor,
    params: MixtureParams,
    atlas: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
    n_iter: int = 1,
    var_floor: float = 1e-4,
    update_weights: bool = True,
) -> tuple[MixtureParams, list[float]]:
    """``n_iter`` EM iterations with the transforms (hence ``J`` and ``atlas``) fixed.

    Returns:
        The new parameters and the log-likelihood *before* each iteration (non-decreasing).
    """
    history: list[float] = []
    with torch.no_grad():
        for _ in range(n_iter):
            post = e_step(J, params, log_prior_from_atlas(atlas, params.w), coverage, mask)
            history.append(float(post.ll))
            params = m_step(J, post, params, atlas, coverage, mask, var_floor, update_weights)
    return params, history


def hard_segmentation(gamma: Tensor) -> Tensor:
    """``argmax_k gamma_k(x)``: ``(*spatial)`` long labels in class order."""
    return gamma.argmax(0)


def bright_component_map(
    post: Posteriors, params: MixtureParams, sequence: int, tissue: int, threshold: float = 0.5
) -> Tensor:
    """Pathology map from the brightest component of ``tissue`` in ``sequence``.

    ``P(x) = gamma_tissue(x) * rho_{sequence, tissue, c*}(x)`` with ``c*`` the active component
    with the largest mean: e.g. scar = bright myocardium in LGE, oedema = bright myocardium in
    T2 (MyoPS style).

    Returns:
        A bool map ``(*spatial)`` where ``P(x) > threshold``.
    """
    mu = torch.where(params.active[sequence, tissue], params.mu[sequence, tissue], -math.inf)
    c_star = int(mu.argmax())
    prob = post.gamma[tissue] * post.rho[sequence, tissue, c_star]
    return prob > threshold


def with_weights(params: MixtureParams, w: Tensor) -> MixtureParams:
    """A copy of ``params`` with new class weights."""
    return replace(params, w=w)


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

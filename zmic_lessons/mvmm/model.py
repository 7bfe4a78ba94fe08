"""The multivariate mixture model (MvMM; Zhuang, TPAMI 2019): the reference math.

Densities, the E-step, the M-step and the log-likelihood, written to be read beside the paper.
The EM iteration the fit runs is the same arithmetic fused into one streaming pass
(:func:`.em_fused.em`); a test pins the two together.

The model at a voxel ``x`` of the common space::

    p(I(x)) = sum_k pi_k(x) prod_i f_ik(J_i(x)) ** coverage_i(x)
    f_ik(v) = sum_c tau_ikc N(v; mu_ikc, var_ikc)
    LL      = sum_x m(x) log p(I(x))

Paper symbol -> code name (all tensors, any device, float32 or float64):

============================  ===============================  ==================================
paper                         code                             shape
============================  ===============================  ==================================
``I_i``, ``T_i``              ``images[i]``, ``StackRigid``    ``(S, Z, H, W)`` (:mod:`.optimise`)
``I_i(T_i(x))``               ``J[i]``                         ``(S, *spatial)``
``A_k(x)``                    ``atlas[k]``                     ``(K, *spatial)``
``w_k``                       ``MixtureParams.w``              ``(K,)``
``pi_k(x)``                   ``exp(log_prior[k])``            ``(K, *spatial)``
``tau_ikc``                   ``MixtureParams.tau``            ``(S, K, C)``
``mu_ikc``, ``sigma^2_ikc``   ``MixtureParams.mu``, ``.var``   ``(S, K, C)``
``delta_i(x)``                ``coverage[i]``                  ``(S, *spatial)``
``m(x)`` (ROI)                ``mask``                         ``(*spatial)``
``gamma_k(x)``                ``Posteriors.gamma``             ``(K, *spatial)``
``rho_ikc(x)``                ``Posteriors.rho``               ``(S, K, C, *spatial)``
``LL``                        ``log_likelihood(...)``          scalar
============================  ===============================  ==================================

``S`` sequences (bSSFP, T2, LGE), ``K`` tissue classes, ``C`` the largest number of Gaussian
components a (sequence, class) pair has; unused components are switched off by ``active`` and
carry ``tau = 0``. ``coverage`` is 0 where sequence ``i`` does not see ``x`` (outside its field
of view or a slice it lacks): that sequence is *marginalised* there (generalized MvMM).

E-step (:func:`e_step`)::

    gamma_k(x) = pi_k(x) prod_i f_ik(J_i(x))**delta_i(x) / p(I(x))
    rho_ikc(x) = tau_ikc N(J_i(x); mu_ikc, var_ikc) / f_ik(J_i(x))

M-step (:func:`m_step`), with ``r_ikc(x) = m(x) delta_i(x) gamma_k(x) rho_ikc(x)``::

    tau_ikc = sum_x r_ikc / sum_x sum_c r_ikc
    mu_ikc  = sum_x r_ikc J_i / sum_x r_ikc
    var_ikc = max(sum_x r_ikc (J_i - mu_ikc)**2 / sum_x r_ikc, var_floor)
    w_k     = sum_x m gamma_k / sum_x m A_k / sum_l w_l A_l      (minorise-maximise)

Everything is computed in the log domain (max-shifted log-sum-exp), so there is no clamping inside
a logarithm and EM is exactly monotone (see ``tests/test_mvmm_model.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def _check_sequences(J: Tensor, params: MixtureParams, prior: Tensor | None = None) -> None:
    s, k, _ = params.shape
    if J.shape[0] != s:
        raise ValueError(f"J has {J.shape[0]} sequences but the parameters have {s}")
    if prior is not None and prior.shape[0] != k:
        raise ValueError(f"the prior has {prior.shape[0]} classes but the parameters have {k}")


def _component_constants(params: MixtureParams) -> tuple[Tensor, Tensor]:
    """Per component ``a = 1 / sqrt(2 var)`` and ``b = log tau - log(2 pi var) / 2``, ``(S, K, C)``.

    Inactive components get ``a = 0`` and ``b = -inf``, so that ``b - (a (v - mu))**2`` is
    ``-inf`` whatever their (unused) ``mu`` and ``var`` are.
    """
    a = torch.where(params.active, (0.5 / params.var).sqrt(), 0.0)
    b = torch.where(
        params.active, params.tau.log() - 0.5 * (_LOG_2PI + params.var.log()), -math.inf
    )
    return a, b


def _standardised(jf: Tensor, mu: Tensor, a: Tensor) -> Tensor:
    """``z = a (J_i(x) - mu_ikc)``, ``(S, K, C, N)`` from ``jf`` of shape ``(S, N)``."""
    z = jf[:, None, None] - mu[..., None]
    return z.mul_(a[..., None])


def _log_comp(z: Tensor, b: Tensor, in_place: bool) -> Tensor:
    """``log tau + log N = b - z**2``, ``(S, K, C, N)`` (a new tensor; ``z`` is kept)."""
    if in_place:
        return torch.mul(z, z).sub_(b[..., None]).neg_()
    return b[..., None] - z * z


def _max_shift(x: Tensor, dim: int) -> Tensor:
    """A finite, gradient-free ``max`` over ``dim`` (kept) for log-sum-exp."""
    m = x.detach().amax(dim=dim, keepdim=True)
    return m.clamp_min_(torch.finfo(x.dtype).min)


def _component_sums(log_comp: Tensor, in_place: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``f_ik = exp(m_ik) s_ik`` with ``s_ik = sum_c e_ikc`` and ``e_ikc = exp(log_comp - m_ik)``.

    Returns:
        ``(m, e, s)``: ``m`` and ``s`` of shape ``(S, K, N)`` (``1 <= s <= C``), ``e`` of shape
        ``(S, K, C, N)`` (``log_comp`` itself when ``in_place``).
    """
    m = _max_shift(log_comp, 2)
    e = log_comp.sub_(m).exp_() if in_place else (log_comp - m).exp()
    return m.squeeze(2), e, e.sum(2)


def _sequence_product(m: Tensor, s: Tensor, coverage: Tensor | None) -> tuple[Tensor, Tensor]:
    """``sum_i c_i log f_ik = L_k + log P_k``: ``L = sum_i c_i m_ik``, ``P = prod_i s_ik**c_i``.

    ``1 <= P_k <= C**S``, so the product needs no logarithm and cannot overflow.
    """
    if coverage is None:
        return m.sum(0), s.prod(0)
    cov = coverage[:, None]
    if cov.dtype == torch.bool:
        return (m * cov).sum(0), torch.where(cov, s, 1.0).prod(0)
    cov = cov.to(m.dtype)
    return (m * cov).sum(0), (s**cov).prod(0)


def _class_posteriors(
    log_prior: Tensor, m: Tensor, s: Tensor, coverage: Tensor | None, in_place: bool
) -> tuple[Tensor, Tensor]:
    """``gamma_k`` and ``log p(I(x)) = log sum_k pi_k prod_i f_ik**c_i``, from ``m`` and ``s``.

    Args:
        log_prior: ``(K, N)``; m, s: from :func:`_component_sums`; coverage: ``(S, N)``.

    Returns:
        ``(gamma (K, N), log p (N,))``.
    """
    big_l, prod_s = _sequence_product(m, s, coverage)
    t = big_l.add_(log_prior) if in_place else big_l + log_prior
    shift = _max_shift(t, 0)
    q = t.sub_(shift).exp_().mul_(prod_s) if in_place else (t - shift).exp() * prod_s
    total = q.sum(0)
    ll_x = shift[0] + total.log()
    return (q.div_(total) if in_place else q / total), ll_x


def _masked_sum(values: Tensor, mask: Tensor | None) -> Tensor:
    return values.sum() if mask is None else (mask.to(values.dtype) * values).sum()


def _flat(t: Tensor | None, start_dim: int) -> Tensor | None:
    return None if t is None else t.flatten(start_dim)


def component_log_density(J: Tensor, params: MixtureParams) -> Tensor:
    """``log tau_ikc + log N(J_i(x); mu_ikc, var_ikc)``, ``-inf`` for inactive components.

    Args:
        J: Sequences in the common space, ``(S, *spatial)``.
        params: Mixture parameters with matching ``S``.

    Returns:
        ``(S, K, C, *spatial)``.
    """
    _check_sequences(J, params)
    a, b = _component_constants(params)
    log_comp = _log_comp(_standardised(J.flatten(1), params.mu, a), b, in_place=False)
    return log_comp.reshape(log_comp.shape[:3] + J.shape[1:])


def log_prior_from_atlas(atlas: Tensor, w: Tensor) -> Tensor:
    """``log pi_k(x) = log w_k + log A_k(x) - log sum_l w_l A_l(x)``.

    Args:
        atlas: Probabilistic atlas in the common space, ``(K, *spatial)``, strictly positive.
        w: Class weights ``(K,)``.

    Returns:
        ``(K, *spatial)`` log prior, normalised over ``k``.
    """
    log_norm = torch.tensordot(w, atlas, dims=1).log()  # (*spatial)
    return atlas.log() + _expand(w.log(), atlas.ndim - 1) - log_norm


def log_likelihood(
    J: Tensor,
    params: MixtureParams,
    log_prior: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Differentiable ``LL = sum_x m(x) log sum_k pi_k(x) prod_i f_ik(J_i(x)) ** coverage_i(x)``."""
    _check_sequences(J, params, log_prior)
    a, b = _component_constants(params)
    log_comp = _log_comp(_standardised(J.flatten(1), params.mu, a), b, in_place=False)
    m, _, s = _component_sums(log_comp, in_place=False)
    _, ll_x = _class_posteriors(log_prior.flatten(1), m, s, _flat(coverage, 1), in_place=False)
    return _masked_sum(ll_x, _flat(mask, 0))


def _needs_grad(*tensors: Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def e_step(
    J: Tensor,
    params: MixtureParams,
    log_prior: Tensor,
    coverage: Tensor | None = None,
    mask: Tensor | None = None,
) -> Posteriors:
    """E-step: class posteriors ``gamma`` and component responsibilities ``rho``."""
    _check_sequences(J, params, log_prior)
    in_place = not _needs_grad(J, log_prior, params.tau, params.mu, params.var)
    a, b = _component_constants(params)
    log_comp = _log_comp(_standardised(J.flatten(1), params.mu, a), b, in_place)
    m, e, s = _component_sums(log_comp, in_place)
    gamma, ll_x = _class_posteriors(log_prior.flatten(1), m, s, _flat(coverage, 1), in_place)
    rho = e.div_(s[:, :, None]) if in_place else e / s[:, :, None]
    spatial = J.shape[1:]
    return Posteriors(
        gamma=gamma.reshape(gamma.shape[:1] + spatial),
        rho=rho.reshape(rho.shape[:3] + spatial),
        ll=_masked_sum(ll_x, _flat(mask, 0)),
    )


def _weights_from_sums(counts: Tensor, denominators: Tensor) -> Tensor:
    w = (counts / denominators).clamp_min(1e-12)
    return w / w.sum()


def update_class_weights(
    gamma: Tensor, atlas: Tensor, w: Tensor, mask: Tensor | None = None, n_iter: int = 1
) -> Tensor:
    """Class weights by minorise-maximise: ``w_k <- sum m gamma_k / sum m A_k / sum_l w_l A_l``.

    ``-log sum_l w_l A_l(x)`` is bounded below by its tangent at the current ``w``, so each
    update maximises a minoriser of the expected complete log-likelihood: it cannot decrease it.

    Returns:
        New weights ``(K,)`` summing to 1.
    """
    a = atlas.flatten(1)
    g = gamma.flatten(1)
    m = _flat(mask, 0)
    m = None if m is None else m.to(a.dtype)
    counts = g.sum(1) if m is None else g @ m
    for _ in range(n_iter):
        inv = (w @ a).reciprocal_()  # 1 / sum_l w_l A_l(x)
        w = _weights_from_sums(counts, a @ (inv if m is None else inv.mul_(m)))
    return w


def _voxel_weight(coverage: Tensor | None, mask: Tensor | None, like: Tensor) -> Tensor | None:
    """``m(x) coverage_i(x)``, shaped like ``like`` ``(S, ...)``; ``None`` for all ones.

    ``coverage`` is ``(S, ...)`` and ``mask`` the trailing ``(...)``, flattened or not.
    """
    if coverage is None and mask is None:
        return None
    weight = torch.ones_like(like)
    if coverage is not None:
        weight = weight * coverage.to(like.dtype)
    if mask is not None:
        weight = weight * mask.to(like.dtype)
    return weight


def _moments(r: Tensor, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``sum_x r``, ``sum_x r z`` and ``sum_x r z**2``, ``(S, K, C)``; ``r`` is overwritten."""
    n = r.sum(-1)
    sz = r.mul_(z).sum(-1)
    return n, sz, r.mul_(z).sum(-1)


def _component_update(
    n_ikc: Tensor, sz: Tensor, szz: Tensor, a: Tensor, params: MixtureParams, var_floor: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Closed-form ``tau, mu, var`` from the moments of ``z = a (J - mu_old)``.

    Moments of ``z``, standardised at the old parameters, rather than of ``J``: ``E[z]`` is the
    (small) step of the mean in old standard deviations, so ``var = (E[z^2] - E[z]^2) / a^2``
    loses no precision to cancellation.
    """
    n_ik = n_ikc.sum(-1, keepdim=True)
    eps = torch.finfo(n_ikc.dtype).tiny * 1e6
    ok = (n_ikc > 1e-8) & params.active
    safe = n_ikc.clamp_min(eps)
    dz = sz / safe
    a_ok = torch.where(ok, a, 1.0)
    mu = torch.where(ok, params.mu + dz / a_ok, params.mu)
    var = torch.where(ok, (szz / safe - dz * dz) / (a_ok * a_ok), params.var)
    var = var.clamp_min(var_floor)
    tau_new = n_ikc / n_ik.clamp_min(eps)
    row_ok = (n_ik > 1e-8).expand_as(tau_new)
    tau = torch.where(row_ok & params.active, tau_new, params.tau)
    tau = torch.where(params.active, tau, torch.zeros_like(tau))
    return tau, mu, var


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
    _check_sequences(J, params)
    if update_weights and atlas is None:
        raise ValueError("m_step(update_weights=True) needs the atlas")
    jf = J.flatten(1)
    a, _ = _component_constants(params)
    r = post.rho.flatten(3) * post.gamma.flatten(1)[None, :, None]  # (S, K, C, N)
    weight = _voxel_weight(_flat(coverage, 1), _flat(mask, 0), jf)
    if weight is not None:
        r.mul_(weight[:, None, None])
    moments = _moments(r, _standardised(jf, params.mu, a))
    tau, mu, var = _component_update(*moments, a, params, var_floor)
    w = params.w
    if update_weights:
        assert atlas is not None
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
    weight = _voxel_weight(coverage, mask, J)
    weight = torch.ones_like(J) if weight is None else weight
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

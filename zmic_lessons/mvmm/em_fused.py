"""The EM iteration that runs: :func:`~.model.e_step` then :func:`~.model.m_step`, fused.

:mod:`.model` holds the readable reference (an E-step that returns the posteriors, an M-step
that reads them). Here the same arithmetic streams over chunks of voxels and keeps only the
M-step's sufficient statistics: the M-step's responsibilities overwrite the E-step's component
terms in place, and the chunk's temporaries are views of one scratch buffer kept per thread and
dtype across calls, so the chunk stays in cache and no call touches fresh pages (which, on a
CPU, costs more than EM's arithmetic). On other devices the whole volume is one chunk in a
buffer of the call's own. ``tests/test_mvmm_em_fused.py`` pins :func:`em` to
``m_step(e_step(...))`` (they agree to rounding, ~1e-12 in float64).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import (
    MixtureParams,
    _check_sequences,
    _component_constants,
    _component_update,
    _flat,
    _weights_from_sums,
)

__all__ = ["em"]

_CHUNK_VOXELS = 8192
_SCRATCH = threading.local()


def _workspace(numel: int, like: Tensor) -> Tensor:
    """A flat scratch tensor of ``numel`` elements (contents undefined)."""
    if like.device.type != "cpu":
        return like.new_empty(numel)
    buffers: dict[torch.dtype, Tensor] = _SCRATCH.__dict__.setdefault("buffers", {})
    buf = buffers.get(like.dtype)
    if buf is None or buf.numel() < numel:
        buf = buffers[like.dtype] = like.new_empty(numel)
    return buf[:numel]


@dataclass
class _Constants:
    """Per-iteration constants: ``mu``, ``a = 1/sqrt(2 var)``, ``b`` shaped ``(S, K, C, 1)``."""

    mu4: Tensor
    a4: Tensor
    b4: Tensor
    w: Tensor
    log_w: Tensor
    fmin: float
    one: Tensor

    @classmethod
    def of(cls, params: MixtureParams, like: Tensor) -> _Constants:
        a, b = _component_constants(params)
        w = params.w.to(like.dtype)
        return cls(
            params.mu[..., None], a[..., None], b[..., None], w, w.log()[:, None],
            torch.finfo(like.dtype).min, like.new_ones(()),
        )  # fmt: skip


@dataclass
class _Chunk:
    """A chunk of ``n`` voxels: ``j (S, n)``, ``atlas (K, n)``, ``cov (S, 1, n)``, ``msk (n,)``."""

    j: Tensor
    atlas: Tensor
    cov: Tensor | None
    msk: Tensor | None


@dataclass
class _Sums:
    """What the chunks add up: ``ll``, moments ``(3, S, K, C)``, class-weight sums ``(2, K)``."""

    ll: Tensor
    moments: Tensor
    weight_sums: Tensor


def _scratch_shapes(n_seq: int, n_cls: int, n_comp: int) -> list[tuple[int, ...]]:
    """Per-voxel shapes of the chunk's temporaries (the order :func:`_chunk_terms` unpacks)."""
    sk, skc = (n_seq, n_cls), (n_seq, n_cls, n_comp)
    return [skc, skc, (*sk, 1), sk, (n_cls,), (n_cls,), (n_cls,), (1,), (1,), (), ()]


def _sequence_product(m: Tensor, s: Tensor, cov: Tensor | None, c: _Constants, out) -> None:
    """``L = sum_i c_i m_ik`` into ``out[0]`` and ``P = prod_i s_ik**c_i`` into ``out[1]``."""
    big_l, prod_s = out
    if cov is None:
        torch.sum(m, 0, out=big_l)
        torch.prod(s, 0, out=prod_s)
    elif cov.dtype == torch.bool:
        torch.sum(m.mul_(cov), 0, out=big_l)
        torch.prod(torch.where(cov, s, c.one, out=m), 0, out=prod_s)
    else:
        torch.sum(m.mul_(cov), 0, out=big_l)
        torch.prod(torch.pow(s, cov, out=m), 0, out=prod_s)


def _chunk_terms(chunk: _Chunk, views: list[Tensor], c: _Constants, sums: _Sums):
    """E-step of one chunk, as :func:`~.model.e_step`: components, sequences, then classes.

    Adds the chunk's log-likelihood to ``sums.ll``.

    Returns:
        ``(z, e, s, gamma, norm)``: ``z = a (J - mu)``, ``e = exp(log_comp - m)``, its sum over
        components ``s``, the class posteriors and ``sum_l w_l A_l(x)``.
    """
    z_, e_, mx_, s_, big_l, prod_s, lp, shift, total, norm, tmp = views
    z = torch.sub(chunk.j[:, None, None], c.mu4, out=z_).mul_(c.a4)
    e = torch.mul(z, z, out=e_).sub_(c.b4).neg_()  # log tau + log N
    mx = torch.amax(e, 2, keepdim=True, out=mx_).clamp_min_(c.fmin)
    s = torch.sum(e.sub_(mx).exp_(), 2, out=s_)
    _sequence_product(mx.squeeze(2), s, chunk.cov, c, (big_l, prod_s))
    torch.mv(chunk.atlas.t(), c.w, out=norm)  # sum_l w_l A_l(x)
    log_prior = torch.log(chunk.atlas, out=lp).add_(c.log_w).sub_(torch.log(norm, out=tmp))
    t = big_l.add_(log_prior)
    torch.amax(t, 0, keepdim=True, out=shift).clamp_min_(c.fmin)
    q = t.sub_(shift).exp_().mul_(prod_s)
    torch.sum(q, 0, keepdim=True, out=total)
    ll_x = torch.log(total, out=tmp[None]).add_(shift)[0]
    sums.ll += ll_x.sum() if chunk.msk is None else torch.dot(ll_x, chunk.msk)
    return z, e, s, q.div_(total), norm


def _chunk_statistics(chunk: _Chunk, terms, sums: _Sums, update_weights: bool) -> None:
    """M-step statistics of one chunk: ``r = gamma rho`` (weighted) overwrites ``e``."""
    z, e, s, gamma, norm = terms
    g = s.reciprocal_().mul_(gamma)
    if chunk.cov is not None:
        g.mul_(chunk.cov)
    if chunk.msk is not None:
        g.mul_(chunk.msk)
    r = e.mul_(g[:, :, None])
    sums.moments[0] += r.sum(-1)
    sums.moments[1] += r.mul_(z).sum(-1)
    sums.moments[2] += r.mul_(z).sum(-1)
    if update_weights:
        msk = chunk.msk
        inv = norm.reciprocal_() if msk is None else norm.reciprocal_().mul_(msk)
        sums.weight_sums[0] += gamma.sum(1) if msk is None else torch.mv(gamma, msk)
        sums.weight_sums[1] += torch.mv(chunk.atlas, inv)


def _em_sums(
    data: tuple[Tensor, Tensor, Tensor | None, Tensor | None],
    params: MixtureParams,
    update_weights: bool,
) -> _Sums:
    """Log-likelihood and M-step sufficient statistics at ``params``, accumulated over chunks.

    Args:
        data: ``(jf (S, N), atlas (K, N), coverage (S, N) or None, mask (N,) or None)``.
        update_weights: Also accumulate the class-weight sums.

    Returns:
        ``ll``; moments ``(sum r, sum r z, sum r z^2)`` of shape ``(3, S, K, C)`` with
        ``r = m c_i gamma_k rho_ikc`` and ``z = a (J - mu)``; and ``(sum m gamma_k,
        sum m A_k / sum_l w_l A_l)`` of shape ``(2, K)`` (zeros without ``update_weights``).
    """
    jf, af, cf, mf = data
    n_seq, n_cls, n_comp = params.shape
    consts = _Constants.of(params, jf)
    n_all = jf.shape[1]
    size = max(1, min(n_all, _CHUNK_VOXELS) if jf.device.type == "cpu" else n_all)
    shapes = _scratch_shapes(n_seq, n_cls, n_comp)
    per_voxel = [math.prod(shape) for shape in shapes]
    flat = _workspace(sum(per_voxel) * size, jf)
    sums = _Sums(
        jf.new_zeros(()), jf.new_zeros((3, n_seq, n_cls, n_comp)), jf.new_zeros((2, n_cls))
    )
    for lo in range(0, n_all, size):
        n = min(size, n_all - lo)
        parts = flat[: sum(per_voxel) * n].split([p * n for p in per_voxel])
        views = [part.view(*shape, n) for part, shape in zip(parts, shapes, strict=True)]
        chunk = _Chunk(
            jf[:, lo : lo + n], af[:, lo : lo + n],
            None if cf is None else cf[:, None, lo : lo + n],
            None if mf is None else mf[lo : lo + n],
        )  # fmt: skip
        terms = _chunk_terms(chunk, views, consts, sums)
        _chunk_statistics(chunk, terms, sums, update_weights)
    return sums


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

    Each iteration equals ``m_step(J, e_step(J, params, log_prior_from_atlas(atlas, params.w),
    coverage, mask), params, atlas, coverage, mask, var_floor, update_weights)``, computed
    chunk by chunk (see the module docstring).

    Args:
        J: ``(S, *spatial)`` sequences in the common space; params: the start.
        atlas: ``(K, *spatial)`` warped atlas (the prior is ``w_k A_k / sum_l w_l A_l``).
        coverage: ``(S, *spatial)``; mask: ``(*spatial)``.
        n_iter: Iterations; var_floor: smallest variance; update_weights: re-estimate ``w``.

    Returns:
        The new parameters and the log-likelihood *before* each iteration (non-decreasing).
    """
    _check_sequences(J, params, atlas)
    history: list[float] = []
    with torch.no_grad():
        jf, af = J.flatten(1), atlas.flatten(1).to(J.dtype)
        mf = None if mask is None else mask.flatten().to(J.dtype)
        data = (jf, af, _flat(coverage, 1), mf)
        for _ in range(n_iter):
            sums = _em_sums(data, params, update_weights)
            history.append(float(sums.ll))
            a, _ = _component_constants(params)
            tau, mu, var = _component_update(*sums.moments, a, params, var_floor)
            w = _weights_from_sums(*sums.weight_sums) if update_weights else params.w
            params = MixtureParams(w=w, tau=tau, mu=mu, var=var, active=params.active)
    return params, history

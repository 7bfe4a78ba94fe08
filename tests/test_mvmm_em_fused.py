"""The EM that runs (the fused, chunked :func:`em`) is the EM that reads like the paper."""

from __future__ import annotations

import pytest
import torch

from zmic_lessons.mvmm import em_fused
from zmic_lessons.mvmm.em_fused import em
from zmic_lessons.mvmm.model import (
    MixtureParams,
    active_from_counts,
    e_step,
    init_params,
    log_prior_from_atlas,
    m_step,
)


def _problem(dtype=torch.float64, n=(2, 24, 20), coverage="bool", mask=True, seed=0):
    """Three sequences of four classes with mixed component counts, on ``n`` voxels."""
    gen = torch.Generator().manual_seed(seed)
    atlas = torch.rand((4, *n), generator=gen, dtype=dtype) + 0.05
    atlas = atlas / atlas.sum(0)
    J = torch.rand((3, *n), generator=gen, dtype=dtype)
    cov = torch.rand((3, *n), generator=gen) > 0.2
    cov = None if coverage is None else (cov if coverage == "bool" else cov.to(dtype) * 0.7)
    roi = (torch.rand(n, generator=gen, dtype=dtype) > 0.1).to(dtype) if mask else None
    active = active_from_counts([[2, 1, 1, 2], [3, 1, 2, 1], [2, 2, 2, 1]])
    params = init_params(J, atlas, active, cov, roi, var_floor=1e-4)
    return J, atlas, cov, roi, params


def _reference(J, atlas, cov, roi, params, update_weights):
    post = e_step(J, params, log_prior_from_atlas(atlas, params.w), cov, roi)
    new = m_step(J, post, params, atlas, cov, roi, 1e-4, update_weights)
    return new, float(post.ll)


def _assert_same(a: MixtureParams, b: MixtureParams, tol: float) -> None:
    for name in ("w", "tau", "mu", "var"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=tol, rtol=tol)


@pytest.mark.parametrize("coverage", ["bool", "float", None])
@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize("update_weights", [True, False])
def test_fused_em_is_m_step_of_e_step(coverage, mask, update_weights):
    J, atlas, cov, roi, params = _problem(coverage=coverage, mask=mask)
    fused, history = em(J, params, atlas, cov, roi, 1, 1e-4, update_weights)
    ref, ll = _reference(J, atlas, cov, roi, params, update_weights)
    _assert_same(fused, ref, 1e-12)
    assert history[0] == pytest.approx(ll, rel=1e-12)


def test_fused_em_agrees_across_chunks_and_iterations(monkeypatch):
    J, atlas, cov, roi, params = _problem(n=(3, 40, 33))  # 3960 voxels
    ref = params
    for _ in range(3):
        ref, _ = _reference(J, atlas, cov, roi, ref, True)
    monkeypatch.setattr(em_fused, "_CHUNK_VOXELS", 512)  # 8 chunks, the last one short
    fused, history = em(J, params, atlas, cov, roi, 3, 1e-4, True)
    _assert_same(fused, ref, 1e-10)
    assert len(history) == 3 and history[0] < history[-1]


def test_fused_em_in_float32_is_close():
    J, atlas, cov, roi, params = _problem(dtype=torch.float32)
    fused, _ = em(J, params, atlas, cov, roi, 1, 1e-4, True)
    ref, _ = _reference(J, atlas, cov, roi, params, True)
    _assert_same(fused, ref, 1e-4)

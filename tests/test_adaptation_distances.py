"""The CF distance and VarDA's mixture L2 distance: the properties that pin the method."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zmic_lessons.adaptation.cf_distance import (
    cf_distance_marginal,
    cf_distance_sampled,
    empirical_cf,
    gaussian_kernel_distance,
    sample_frequencies,
    sinc_kernel,
)
from zmic_lessons.adaptation.varda import gaussian_overlap, mixture_l2_distance


def _normal(n: int, d: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * std + mean


def test_cf_zero_for_identical_samples_and_nonnegative() -> None:
    x = _normal(20, 5, 0)
    assert float(cf_distance_marginal(x, x.clone(), 2.0)) == pytest.approx(0.0, abs=1e-12)
    freqs = sample_frequencies(64, 5, generator=torch.Generator().manual_seed(1))
    assert float(cf_distance_sampled(x, x.clone(), freqs.double())) == pytest.approx(0.0, abs=1e-12)
    for seed in range(5):
        y = _normal(15, 5, 10 + seed, mean=0.3)
        assert float(cf_distance_marginal(x, y, 2.0)) >= 0.0
        assert float(cf_distance_sampled(x, y, freqs.double())) >= 0.0


def test_cf_symmetric_and_permutation_invariant() -> None:
    x, y = _normal(12, 3, 0), _normal(9, 3, 1, mean=0.5)
    d = cf_distance_marginal(x, y, 1.5)
    assert float(cf_distance_marginal(y, x, 1.5)) == pytest.approx(float(d), rel=1e-12)
    perm_x, perm_y = torch.randperm(12), torch.randperm(9)
    assert float(cf_distance_marginal(x[perm_x], y[perm_y], 1.5)) == pytest.approx(float(d))
    freqs = sample_frequencies(32, 3, generator=torch.Generator().manual_seed(2)).double()
    s = cf_distance_sampled(x, y, freqs)
    assert float(cf_distance_sampled(y, x, freqs)) == pytest.approx(float(s), rel=1e-12)
    assert float(cf_distance_sampled(x[perm_x], y[perm_y], freqs)) == pytest.approx(float(s))


@pytest.mark.parametrize("unbiased", [False, True])
def test_cf_grows_with_mean_shift_and_variance_mismatch(unbiased: bool) -> None:
    x = _normal(200, 1, 0)
    base = _normal(200, 1, 1)
    shifts = [float(cf_distance_marginal(x, base + s, 1.0, unbiased=unbiased)) for s in
              (0.0, 0.5, 1.0, 2.0)]  # fmt: skip
    assert all(b > a for a, b in zip(shifts, shifts[1:], strict=False))
    scales = [float(cf_distance_marginal(x, base * s, 1.0, unbiased=unbiased)) for s in
              (1.0, 2.0, 4.0)]  # fmt: skip
    assert all(b > a for a, b in zip(scales, scales[1:], strict=False))


def test_cf_point_masses_follow_the_sinc() -> None:
    # one point each: D = 2 - 2 sinc(T delta), increasing while T delta < pi
    x = torch.zeros(1, 1, dtype=torch.float64)
    ds = [float(cf_distance_marginal(x, x + d, 1.0)) for d in np.linspace(0.1, 3.0, 8)]
    assert all(b > a for a, b in zip(ds, ds[1:], strict=False))
    assert ds[-1] == pytest.approx(2 - 2 * math.sin(3.0) / 3.0)


def test_closed_form_equals_uniform_frequency_average() -> None:
    # 1D: the band-limited closed form is the mean of |phi_x - phi_y|^2 over t ~ U[-T, T]
    x, y = _normal(30, 1, 0), _normal(25, 1, 1, mean=0.7, std=1.3)
    t = torch.linspace(-2.0, 2.0, 20001, dtype=torch.float64)[:, None]
    rx, ix = empirical_cf(x, t)
    ry, iy = empirical_cf(y, t)
    quad = float(((rx - ry) ** 2 + (ix - iy) ** 2).mean())
    assert float(cf_distance_marginal(x, y, 2.0)) == pytest.approx(quad, rel=1e-3)
    freqs = sample_frequencies(
        20000, 1, scale=2.0, kind="uniform", generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )  # fmt: skip
    mc = float(cf_distance_sampled(x, y, freqs))
    assert mc == pytest.approx(float(cf_distance_marginal(x, y, 2.0)), rel=0.05)


@pytest.mark.parametrize("unbiased", [False, True])
def test_gaussian_frequencies_estimate_the_gaussian_kernel_form(unbiased: bool) -> None:
    x, y = _normal(20, 4, 0), _normal(20, 4, 1, mean=0.5)
    freqs = sample_frequencies(
        40000, 4, scale=0.7, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    mc = float(cf_distance_sampled(x, y, freqs, unbiased=unbiased))
    exact = float(gaussian_kernel_distance(x, y, 0.7, unbiased=unbiased))
    assert mc == pytest.approx(exact, rel=0.05, abs=2e-3)


def test_u_statistic_is_unbiased_where_the_v_statistic_is_not() -> None:
    v, u = [], []
    for seed in range(200):
        x, y = _normal(8, 1, 2 * seed), _normal(8, 1, 2 * seed + 1)
        v.append(float(cf_distance_marginal(x, y, 1.0)))
        u.append(float(cf_distance_marginal(x, y, 1.0, unbiased=True)))
    assert np.mean(v) > 0.05  # O(1/N) bias
    assert abs(np.mean(u)) < 3 * np.std(u) / math.sqrt(len(u))


def test_cf_gradcheck_float64() -> None:
    x = _normal(5, 3, 0).requires_grad_()
    y = _normal(4, 3, 1, mean=0.2).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: cf_distance_marginal(a, b, 1.7), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: cf_distance_marginal(a, b, 1.7, unbiased=True), (x, y)
    )
    freqs = sample_frequencies(16, 3, generator=torch.Generator().manual_seed(0)).double()
    assert torch.autograd.gradcheck(lambda a, b: cf_distance_sampled(a, b, freqs), (x, y))


def test_sinc_gradient_matches_the_reference_formula() -> None:
    # the CFDNet code's hand-written derivative of sin(T d)/d is (T d cos(T d) - sin(T d)) / d^2
    t_max = 2.5
    d = torch.tensor([-1.3, -0.2, 0.4, 2.0], dtype=torch.float64, requires_grad=True)
    (t_max * sinc_kernel(d, t_max)).sum().backward()
    dd = d.detach()
    ref = (t_max * dd * torch.cos(t_max * dd) - torch.sin(t_max * dd)) / dd**2
    torch.testing.assert_close(d.grad, ref)
    zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    sinc_kernel(zero, t_max).sum().backward()
    assert torch.isfinite(zero.grad).all()


def _mixture_density(z: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    comps = np.exp(-0.5 * (z[:, None] - mu) ** 2 / var) / np.sqrt(2 * np.pi * var)
    return comps.mean(1)


def test_mixture_l2_matches_quadrature_in_1d() -> None:
    rng = np.random.default_rng(0)
    mu_s, var_s = rng.normal(0, 1, 6), rng.uniform(0.2, 1.0, 6)
    mu_t, var_t = rng.normal(0.8, 1.2, 5), rng.uniform(0.1, 2.0, 5)
    z = np.linspace(-15, 15, 300001)
    diff = _mixture_density(z, mu_s, var_s) - _mixture_density(z, mu_t, var_t)
    quad = float(np.trapezoid(diff**2, z))
    closed = float(mixture_l2_distance(*(torch.tensor(a)[:, None] for a in
                                          (mu_s, var_s, mu_t, var_t))))  # fmt: skip
    assert closed == pytest.approx(quad, abs=1e-4)


def test_gaussian_overlap_is_the_product_integral() -> None:
    z = np.linspace(-20, 20, 200001)
    a = np.exp(-0.5 * (z - 0.3) ** 2 / 0.5) / np.sqrt(2 * np.pi * 0.5)
    b = np.exp(-0.5 * (z + 1.0) ** 2 / 2.0) / np.sqrt(2 * np.pi * 2.0)
    quad = float(np.trapezoid(a * b, z))
    value = float(gaussian_overlap(*(torch.tensor(v, dtype=torch.float64) for v in
                                     (0.3, 0.5, -1.0, 2.0))))  # fmt: skip
    assert value == pytest.approx(quad, rel=1e-6)


def test_mixture_l2_zero_for_identical_and_grows() -> None:
    mu = _normal(10, 3, 0)
    var = torch.full_like(mu, 0.5)
    assert float(mixture_l2_distance(mu, var, mu.clone(), var.clone())) == pytest.approx(
        0.0, abs=1e-12
    )
    shifts = [float(mixture_l2_distance(mu, var, mu + s, var)) for s in (0.1, 0.5, 1.0, 3.0)]
    assert all(b > a for a, b in zip(shifts, shifts[1:], strict=False))
    scales = [float(mixture_l2_distance(mu, var, mu, var * s)) for s in (1.5, 3.0, 10.0)]
    assert all(b > a for a, b in zip(scales, scales[1:], strict=False))


def test_mixture_l2_gradients_are_finite() -> None:
    mu_s, mu_t = _normal(4, 2, 0).requires_grad_(), _normal(3, 2, 1).requires_grad_()
    lv_s, lv_t = _normal(4, 2, 2).requires_grad_(), _normal(3, 2, 3).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b, c, d: mixture_l2_distance(a, b.exp(), c, d.exp()), (mu_s, lv_s, mu_t, lv_t)
    )

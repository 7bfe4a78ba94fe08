"""BayeSR: closed-form Gamma expectations, the ELBO terms and the cascade's wiring."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from scipy import stats

from zmic_lessons.restoration import BayeSR, Priors, bayesr_loss, elbo_terms, gamma_means
from zmic_lessons.restoration.bayesr import LOGVAR_MIN, gradient_sq
from zmic_lessons.restoration.degradation import downsample

D = partial(downsample, scale=2, blur_sigma=0.8)


def _model(seed: int = 0) -> BayeSR:
    torch.manual_seed(seed)
    return BayeSR(D, scale=2, width=8, blocks=1)


def test_gamma_expectations_match_the_conjugate_posteriors() -> None:
    """q(w) = Gamma(gamma + 1/2, phi + E[z^2]/2): its mean is the closed form used."""
    priors = Priors(gamma_x=2.0, phi_x=1e-3, gamma_z=3.0, phi_z=2e-3, gamma_n=8.0, phi_n=1e-5)
    g = torch.Generator().manual_seed(0)
    mu_z, var_z = torch.randn(1, 1, 4, 4, generator=g), torch.rand(1, 1, 4, 4, generator=g)
    mu_x, var_x = torch.randn(1, 1, 4, 4, generator=g), torch.rand(1, 1, 4, 4, generator=g)
    e = torch.randn(1, 1, 2, 2, generator=g)
    upsilon, omega, rho = gamma_means(e, mu_x, var_x, mu_z, var_z, priors)
    for got, shape, rate in (
        (omega, priors.gamma_z + 0.5, priors.phi_z + (mu_z**2 + var_z) / 2),
        (rho, priors.gamma_n + 0.5, priors.phi_n + e**2 / 2),
        (upsilon, priors.gamma_x + 0.5, priors.phi_x + (gradient_sq(mu_x) + 4 * var_x) / 2),
    ):
        want = stats.gamma(a=shape, scale=1.0 / rate.double().numpy()).mean()
        torch.testing.assert_close(got.double(), torch.from_numpy(want), rtol=1e-5, atol=0)


def test_expected_gradient_energy_adds_four_variances() -> None:
    """E|grad x|^2 = |grad mu|^2 + 4 sigma^2 for x ~ N(mu, sigma^2) (interior pixels)."""
    g = torch.Generator().manual_seed(1)
    mu, sigma = torch.randn(1, 1, 6, 6, generator=g, dtype=torch.float64), 0.3
    samples = mu + sigma * torch.randn(40_000, 1, 6, 6, generator=g, dtype=torch.float64)
    mc = gradient_sq(samples).mean(0)[0, :-1, :-1]
    want = (gradient_sq(mu) + 4 * sigma**2)[0, 0, :-1, :-1]
    torch.testing.assert_close(mc, want, rtol=0.03, atol=0.01)


def test_gamma_expectations_are_stop_gradient() -> None:
    mu = torch.randn(1, 1, 4, 4, requires_grad=True)
    var = torch.rand(1, 1, 4, 4, requires_grad=True)
    e = torch.randn(1, 1, 2, 2, requires_grad=True)
    for t in gamma_means(e, mu, var, mu, var, Priors()):
        assert not t.requires_grad


def test_elbo_terms_are_finite_and_the_loss_backpropagates() -> None:
    model = _model()
    y = torch.rand(2, 1, 8, 8)
    out = model(y)
    terms = elbo_terms(y, out, D, Priors())
    assert all(torch.isfinite(v) for v in terms.values())
    assert float(terms["N"]) > 0
    loss, logs = bayesr_loss(y, out, D, Priors(), torch.rand(2, 1, 16, 16), tau=1.0)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(gr).all() for gr in grads)
    assert {"data", "smooth", "noise_mean", "sparse", "N", "l1", "elbo"} <= set(logs)


def test_the_elbo_decreases_when_trained() -> None:
    model = _model(2)
    y = D(torch.rand(4, 1, 16, 16))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(25):
        opt.zero_grad()
        loss, _ = bayesr_loss(y, model(y), D, Priors())
        first = float(loss.detach()) if first is None else first
        loss.backward()
        opt.step()
    assert float(bayesr_loss(y, model(y, sample=False), D, Priors())[0]) < first


def test_cascade_shapes_means_and_samples() -> None:
    model = _model(3)
    y = torch.rand(1, 1, 6, 10)
    out = model(y, sample=False)
    assert out.mu_m.shape == (1, 1, 6, 10)
    assert out.mu_x.shape == out.mu_z.shape == out.image.shape == (1, 1, 12, 20)
    torch.testing.assert_close(out.x, out.mu_x)
    torch.testing.assert_close(model(y, sample=False).image, out.image)
    with torch.no_grad():
        model.head_x.conv.bias[1:] = -2.0  # visible posterior variance
    a, b = model(y).sample_image, model(y).sample_image
    assert not torch.equal(a, b)
    for lv in (out.logvar_m, out.logvar_z, out.logvar_x):
        assert float(lv.min()) >= LOGVAR_MIN - 1e-6 and float(lv.max()) <= 0.0
    assert pytest.approx(-math.log(1e10)) == LOGVAR_MIN

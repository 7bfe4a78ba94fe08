"""Notebook helpers: the CF curves agree with the distance, one step is taken apart, figures."""

from __future__ import annotations

import pytest
import torch

from zmic_lessons.adaptation import cf_distance_marginal, figures, lessons, phantom_task
from zmic_lessons.adaptation.settings import BUDGETS


def test_cf_curves_end_at_the_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, generator=g), torch.randn(20, generator=g) + 0.5
    c = lessons.cf_curves(x, y, 2.0, n_t=11)
    expected = float(cf_distance_marginal(x[:, None].double(), y[:, None].double(), 2.0))
    assert c["distance"][-1] == pytest.approx(expected, rel=1e-9)
    assert c["distance"][0] == 0.0 and (c["gap"] >= 0).all()


@pytest.mark.parametrize("scale", [0.05, 1.0, 30.0])
def test_cf_curves_follow_the_closed_form_at_every_band(scale: float) -> None:
    """The quadrature of the integrand equals the closed form at every band limit, also for
    samples spread wide enough that each grid interval is split into several panels."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, generator=g).double() * scale
    y = (torch.randn(150, generator=g).double() * 1.5 + 0.3) * scale
    c = lessons.cf_curves(x, y, 3.0, n_t=7)
    expected = [float(cf_distance_marginal(x[:, None], y[:, None], float(t))) for t in c["t"][1:]]
    assert c["distance"][1:] == pytest.approx(expected, rel=1e-8, abs=1e-12)


def test_one_step_reports_every_module_and_figures_build() -> None:
    task = phantom_task("ct2mr", n_train=2, n_test=2, size=32, pixel_mm=3.0, seed=0)
    settings = BUDGETS["quick"]
    report = lessons.one_step("varda", task, settings, 0)
    assert set(report.parts) == {"seg", "kl", "rec_s", "rec_t", "dist"}
    assert all(v > 0 for v in report.grad_norms.values())
    z = torch.randn(50, 3)
    fig = figures.latent_figure({"a": lessons.latent_histograms(z, z + 1)})
    assert len(fig.data) == 3 * 2 and len(fig.layout.sliders[0].steps) == 3
    curves = [lessons.cf_curves(z[:, d], z[:, d] + 1, 2.0) for d in range(3)]
    assert len(figures.cf_figure({"a": curves, "b": curves}).data) == 3 * 4
    assert "ct:lv" in lessons.domain_histograms(task)

"""MvMM math: EM monotonicity, reduction to an atlas-guided GMM, posterior sums, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from zmic_lessons.mvmm.ascent import intensity_force
from zmic_lessons.mvmm.atlas import probabilistic_atlas
from zmic_lessons.mvmm.em_fused import em
from zmic_lessons.mvmm.model import (
    MixtureParams,
    active_from_counts,
    e_step,
    init_params,
    log_likelihood,
    log_prior_from_atlas,
    m_step,
)
from zmic_lessons.mvmm.transforms import StackRigid, rigid_parameter_gradient

# Mean intensity per class (background, LV blood, myocardium, RV blood) for three toy sequences.
_MEANS = np.array([[0.15, 0.9, 0.35, 0.85], [0.2, 0.5, 0.4, 0.5], [0.1, 0.8, 0.15, 0.75]])


def toy_classes(size: int = 32, n_slices: int = 2, shift: float = 0.0) -> np.ndarray:
    """Rings: LV disc, myocardial annulus, RV crescent; ``(Z, H, W)`` classes 0..3."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    out = np.zeros((n_slices, size, size), dtype=np.int64)
    for z in range(n_slices):
        cy, cx = size / 2 + shift, size / 2 - 2 + shift
        r = np.hypot(yy - cy, xx - cx)
        r_rv = np.hypot(yy - cy, xx - (cx + size * 0.22))
        out[z][r_rv < size * 0.25] = 3
        out[z][r < size * (0.22 - 0.01 * z)] = 2
        out[z][r < size * (0.14 - 0.01 * z)] = 1
    return out


def toy_images(classes: np.ndarray, noise: float, seed: int, n_seq: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    imgs = _MEANS[:n_seq][:, classes]
    # a bright patch inside the myocardium of sequence 2 (a "scar" component)
    scar = (classes == 2) & (np.arange(classes.shape[-1])[None, None, :] > classes.shape[-1] * 0.55)
    imgs[2][scar] = 0.75
    return (imgs + noise * rng.standard_normal(imgs.shape)).astype(np.float64)


@pytest.fixture(scope="module")
def toy() -> dict[str, torch.Tensor]:
    classes = toy_classes()
    atlas = probabilistic_atlas(toy_classes(shift=1.0), sigma=2.0, dtype=torch.float64)
    J = torch.from_numpy(toy_images(classes, 0.05, seed=1))
    coverage = torch.ones_like(J, dtype=torch.bool)
    coverage[1, 1] = False  # sequence 1 lacks slice 1
    mask = torch.ones(J.shape[1:], dtype=torch.float64)
    mask[:, :3] = 0
    active = active_from_counts([[2, 1, 1, 1], [2, 1, 2, 1], [2, 1, 2, 1]])
    return {"J": J, "atlas": atlas, "coverage": coverage, "mask": mask, "active": active}


def test_em_never_decreases_log_likelihood(toy):
    params = init_params(toy["J"], toy["atlas"], toy["active"], toy["coverage"], toy["mask"])
    params, history = em(toy["J"], params, toy["atlas"], toy["coverage"], toy["mask"], n_iter=40)
    diffs = np.diff(history)
    assert np.all(diffs >= -1e-9 * abs(history[0])), diffs.min()
    assert history[-1] > history[0] + 1.0  # EM actually moved
    post = e_step(toy["J"], params, log_prior_from_atlas(toy["atlas"], params.w), toy["coverage"])
    torch.testing.assert_close(post.gamma.sum(0), torch.ones_like(post.gamma[0]))
    rho_sum = post.rho.sum(2)
    torch.testing.assert_close(rho_sum, torch.ones_like(rho_sum))
    torch.testing.assert_close(params.tau.sum(-1), torch.ones(3, 4, dtype=torch.float64))
    assert math.isclose(float(params.w.sum()), 1.0, rel_tol=1e-12)
    assert torch.all(params.tau[~params.active] == 0)


def test_missing_sequence_is_marginalised_not_zero_filled(toy):
    params = init_params(toy["J"], toy["atlas"], toy["active"], toy["coverage"])
    log_prior = log_prior_from_atlas(toy["atlas"], params.w)
    J_changed = toy["J"].clone()
    J_changed[1, 1] = 123.0  # anything where sequence 1 has no data
    a = log_likelihood(toy["J"], params, log_prior, toy["coverage"])
    b = log_likelihood(J_changed, params, log_prior, toy["coverage"])
    assert float(a) == pytest.approx(float(b), rel=1e-12)
    # the uncovered slice equals the model of the other two sequences alone
    sub = MixtureParams(params.w, *(t[[0, 2]] for t in (params.tau, params.mu, params.var)),
                        params.active[[0, 2]])  # fmt: skip
    lp = log_prior[:, 1:2]
    full = log_likelihood(toy["J"][:, 1:2], params, lp, toy["coverage"][:, 1:2])
    two = log_likelihood(toy["J"][[0, 2], 1:2], sub, lp)
    assert float(full) == pytest.approx(float(two), rel=1e-12)


def _reference_gmm(image, atlas, mu, var, w, n_iter):
    """Plain NumPy EM for a one-image GMM with a spatial prior w_k A_k / sum_l w_l A_l."""
    x = image.reshape(-1)
    a = atlas.reshape(atlas.shape[0], -1)
    for _ in range(n_iter):
        prior = w[:, None] * a
        prior = prior / prior.sum(0)
        lik = np.exp(-0.5 * (x - mu[:, None]) ** 2 / var[:, None]) / np.sqrt(
            2 * np.pi * var[:, None]
        )
        joint = prior * lik
        gamma = joint / joint.sum(0)
        n = gamma.sum(1)
        mu = (gamma * x).sum(1) / n
        var = (gamma * (x - mu[:, None]) ** 2).sum(1) / n
        w = n / (a / (w[:, None] * a).sum(0)).sum(1)
        w = w / w.sum()
    return mu, var, w, gamma


def test_one_image_one_component_equals_atlas_guided_gmm(toy):
    J = toy["J"][2:3]
    active = active_from_counts([[1, 1, 1, 1]])
    params = init_params(J, toy["atlas"], active)
    mu0, var0, w0 = (t.numpy().reshape(-1).copy() for t in (params.mu, params.var, params.w))
    params, _ = em(J, params, toy["atlas"], n_iter=15, var_floor=0.0)
    mu, var, w, gamma = _reference_gmm(J[0].numpy(), toy["atlas"].numpy(), mu0, var0, w0, 15)
    np.testing.assert_allclose(params.mu.numpy().reshape(-1), mu, rtol=1e-8)
    np.testing.assert_allclose(params.var.numpy().reshape(-1), var, rtol=1e-8)
    np.testing.assert_allclose(params.w.numpy(), w, rtol=1e-8)
    post = e_step(J, params, log_prior_from_atlas(toy["atlas"], params.w))
    _, _, _, gamma_next = _reference_gmm(J[0].numpy(), toy["atlas"].numpy(), mu, var, w, 1)
    np.testing.assert_allclose(post.gamma.numpy().reshape(4, -1), gamma_next, atol=1e-8)


def test_m_step_keeps_a_component_without_mass(toy):
    J = toy["J"]
    params = init_params(J, toy["atlas"], toy["active"], toy["coverage"])
    post = e_step(J, params, log_prior_from_atlas(toy["atlas"], params.w), toy["coverage"])
    post.rho[0, 0, 1] = 0.0  # no voxel belongs to component (0, 0, 1)
    post.rho[0, 0, 0] = 1.0
    new = m_step(J, post, params, toy["atlas"], toy["coverage"])
    assert float(new.mu[0, 0, 1]) == float(params.mu[0, 0, 1])
    assert torch.isfinite(new.var).all() and float(new.tau[0, 0, 1]) == 0.0


def test_parameters_and_prior_must_have_the_same_classes(toy):
    params = init_params(toy["J"], toy["atlas"], toy["active"])
    three = toy["atlas"][:3]
    with pytest.raises(ValueError, match="prior has 3 classes but the parameters have 4"):
        em(toy["J"], params, three)
    with pytest.raises(ValueError, match="prior has 3 classes"):
        e_step(toy["J"], params, log_prior_from_atlas(three, params.w[:3]))
    with pytest.raises(ValueError, match="sequences but the parameters"):
        log_likelihood(toy["J"][:2], params, log_prior_from_atlas(toy["atlas"], params.w))


def _rigid_problem(dtype=torch.float64):
    classes = toy_classes(size=24, n_slices=2)
    images = torch.from_numpy(toy_images(classes, 0.02, seed=3)).to(dtype)
    images = torch.from_numpy(gaussian_filter(images.numpy(), (0, 0, 1, 1)))
    atlas = probabilistic_atlas(classes, sigma=1.5, dtype=dtype)
    active = active_from_counts([[2, 1, 1, 1], [2, 1, 2, 1], [2, 1, 2, 1]])
    params = init_params(images, atlas, active)
    params, _ = em(images, params, atlas, n_iter=5)
    transform = StackRigid.identity(3, 2, reference=0, dtype=dtype)
    transform.angle[1:] = torch.tensor([0.05, -0.04], dtype=dtype)
    transform.shift[1:] = torch.tensor([[[0.3, -0.4], [0.6, 0.2]], [[-0.35, 0.45], [0.1, -0.7]]])
    return images, atlas, params, transform


def test_autograd_gradient_matches_posterior_weighted_force():
    images, atlas, params, transform = _rigid_problem()
    log_prior = log_prior_from_atlas(atlas, params.w)
    angle = transform.angle.clone().requires_grad_(True)
    shift = transform.shift.clone().requires_grad_(True)
    moved = StackRigid(angle, shift, transform.fixed)
    J, fov = moved.resample(images)
    ll = log_likelihood(J, params, log_prior, fov)
    g_angle, g_shift = torch.autograd.grad(ll, [angle, shift])
    with torch.no_grad():
        post = e_step(J, params, log_prior, fov)
        force = intensity_force(J, post, params, fov)
        a_angle, a_shift = rigid_parameter_gradient(force, images, transform)
    assert float(g_shift.abs().max()) > 1e-3
    torch.testing.assert_close(
        a_shift, g_shift * (~transform.fixed)[:, None, None], rtol=1e-7, atol=1e-9
    )
    torch.testing.assert_close(a_angle, g_angle * (~transform.fixed), rtol=1e-7, atol=1e-9)


def test_gradcheck_log_likelihood_wrt_rigid_parameters():
    images, atlas, params, transform = _rigid_problem()
    images, atlas = images[:, :1, 4:20, 4:20], atlas[:, :1, 4:20, 4:20]
    log_prior = log_prior_from_atlas(atlas, params.w)

    def ll(angle, shift):
        J, fov = StackRigid(angle, shift, transform.fixed).resample(images)
        return log_likelihood(J, params, log_prior, fov)

    angle = transform.angle.clone().requires_grad_(True)
    shift = transform.shift[:, :1].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(ll, (angle, shift), eps=1e-6, atol=1e-5, rtol=1e-4)

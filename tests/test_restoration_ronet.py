"""RONet: the rank-one decomposition's invariants and the reconstruction network's wiring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zmic_lessons.restoration import RankOneProjection, RODec, RONet, residual_energy_loss
from zmic_lessons.restoration.lessons import residual_energies, svd_components


def _image(seed: int = 0, size: tuple[int, int] = (20, 24)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((2, 1, *size), generator=g, dtype=torch.float64)


@pytest.mark.parametrize("ls_scale", [True, False])
def test_components_plus_residual_reconstruct_the_input(ls_scale: bool) -> None:
    torch.manual_seed(0)
    dec = RODec(4, width=6, ls_scale=ls_scale).double()
    x = _image()
    parts, residual = dec(x)
    assert parts.shape == (2, 4, 1, 20, 24)
    torch.testing.assert_close(parts.sum(1) + residual, x, rtol=0, atol=1e-12)


def test_each_component_has_rank_one() -> None:
    torch.manual_seed(1)
    dec = RODec(3, width=6).double()
    parts, _ = dec(_image(1))
    for p in parts.reshape(-1, 20, 24):
        s = torch.linalg.svdvals(p)
        assert s[0] > 0
        assert float(s[1] / s[0]) < 1e-10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_residual_never_below_the_truncated_svd_optimum(seed: int) -> None:
    torch.manual_seed(seed)
    dec = RODec(3, width=6).double()
    x = _image(seed)[0, 0].numpy()
    ours, svd = residual_energies(dec.float(), x.astype(np.float32))
    assert ours[0] == pytest.approx(1.0) and svd[0] == pytest.approx(1.0)
    assert np.all(ours >= svd - 1e-6)
    # the SVD's own components reach the optimum exactly (Eckart-Young)
    comps, residual = svd_components(x, 3)
    tail = np.sum(np.linalg.svd(x, compute_uv=False)[3:] ** 2) / np.sum(x**2)
    assert np.sum(residual.astype(np.float64) ** 2) / np.sum(x**2) == pytest.approx(tail, rel=1e-4)


def test_one_projection_removes_a_rank_one_image() -> None:
    """Bias-free ReLU branches are positively homogeneous, so u ~ a and v ~ b for X = a b^T."""
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(16, generator=g) + 0.1, torch.rand(12, generator=g) + 0.1
    x = torch.outer(a, b)[None, None]
    torch.manual_seed(3)
    proj = RankOneProjection(width=8)
    residual = x - proj(x)
    assert float(residual.pow(2).sum() / x.pow(2).sum()) < 1e-6


def test_ls_scale_never_raises_the_residual_energy() -> None:
    torch.manual_seed(4)
    dec = RODec(4, width=6).double()
    x = _image(4) - 0.5
    energies = [float(dec(x, k)[1].pow(2).sum()) for k in range(5)]
    assert all(e1 <= e0 + 1e-12 for e0, e1 in zip(energies, energies[1:], strict=False))


def test_pretraining_lowers_the_residual_energy() -> None:
    torch.manual_seed(5)
    dec = RODec(2, width=6)
    x = _image(5, (16, 16)).float()
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    before = float(residual_energy_loss(dec, x))
    for _ in range(30):
        opt.zero_grad()
        residual_energy_loss(dec, x).backward()
        opt.step()
    assert float(residual_energy_loss(dec, x)) < before


def test_pretraining_loss_averages_the_residual_after_every_projection() -> None:
    torch.manual_seed(6)
    dec = RODec(3, width=6).double()
    x = _image(6)
    energies = [dec(x, k)[1].pow(2).mean() for k in (1, 2, 3)]
    torch.testing.assert_close(residual_energy_loss(dec, x), torch.stack(energies).mean())
    torch.testing.assert_close(residual_energy_loss(dec, x, every_step=False), energies[-1])


@pytest.mark.parametrize("scale", [1, 2])
def test_ronet_and_the_plain_cnn_have_the_same_size(scale: int) -> None:
    torch.manual_seed(6)
    dec = RODec(3, width=4)
    ronet = RONet(dec, scale=scale, width=8, blocks=(1, 1, 1))
    plain = RONet(None, scale=scale, width=8, blocks=(1, 1, 1))
    trainable = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)  # noqa: E731
    assert trainable(ronet) == trainable(plain)
    y = torch.rand(2, 1, 10, 12)
    out = ronet.train()(y)
    assert out.image.shape == (2, 1, 10 * scale, 12 * scale)
    assert out.ro_branch.shape == out.image.shape == out.residual_branch.shape
    assert not dec.training, "the decomposition stays frozen in eval mode"
    assert all(not p.requires_grad for p in dec.parameters())


def test_ronet_splits_its_input_exactly() -> None:
    torch.manual_seed(7)
    net = RONet(RODec(3, width=4), scale=2, n_components=2, width=8)
    y = torch.rand(1, 1, 8, 8)
    ro, res = net.split(y)
    torch.testing.assert_close(ro + res, y)
    ro_p, res_p = RONet(None, scale=2, width=8).split(y)
    assert ro_p is y and res_p is y

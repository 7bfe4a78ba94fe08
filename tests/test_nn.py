"""Tests for zmic_lessons.nn: spatial transforms and the U-Net."""

from __future__ import annotations

import math

import pytest
import torch

from zmic_lessons.nn import (
    UNet,
    affine_displacement,
    bending_energy,
    count_parameters,
    gradient_l2,
    identity_grid,
    resize_displacement,
    warp,
)

torch.set_num_threads(1)


def _random(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen)


# --------------------------------------------------------------------------- spatial


def test_identity_grid_holds_voxel_indices() -> None:
    grid = identity_grid((3, 4))
    assert grid.shape == (2, 3, 4)
    assert grid[0, 2, 1] == 2 and grid[1, 2, 1] == 1
    grid3 = identity_grid((2, 3, 4))
    assert grid3.shape == (3, 2, 3, 4)
    assert tuple(grid3[:, 1, 2, 3].tolist()) == (1, 2, 3)
    with pytest.raises(ValueError, match="2D or 3D"):
        identity_grid((5,))


@pytest.mark.parametrize("shape", [(2, 3, 9, 11), (1, 2, 5, 6, 7)])
def test_zero_displacement_is_identity(shape: tuple[int, ...]) -> None:
    image = _random(shape)
    ndim = len(shape) - 2
    zero = torch.zeros(shape[0], ndim, *shape[2:])
    torch.testing.assert_close(warp(image, zero), image, atol=1e-5, rtol=0)
    torch.testing.assert_close(warp(image, zero, mode="nearest"), image)


def test_integer_shift_2d_moves_image_by_that_many_pixels() -> None:
    image = _random((1, 1, 12, 10))
    disp = torch.zeros(1, 2, 12, 10)
    disp[:, 0] = 2.0  # y
    disp[:, 1] = -3.0  # x
    out = warp(image, disp, padding_mode="zeros")
    # out[y, x] = image[y + 2, x - 3]
    torch.testing.assert_close(out[0, 0, :-2, 3:], image[0, 0, 2:, :-3], atol=1e-5, rtol=0)
    assert out[0, 0, -2:, :].abs().max() < 1e-5 and out[0, 0, :, :3].abs().max() < 1e-5


def test_integer_shift_3d_moves_volume_along_each_axis() -> None:
    image = _random((2, 1, 6, 7, 8), seed=1)
    disp = torch.zeros(1, 3, 6, 7, 8)  # batch of one broadcast to two images
    disp[:, 0], disp[:, 1], disp[:, 2] = 1.0, -2.0, 3.0
    out = warp(image, disp)
    torch.testing.assert_close(out[:, :, :-1, 2:, :-3], image[:, :, 1:, :-2, 3:], atol=1e-5, rtol=0)


def test_half_voxel_shift_interpolates_linearly() -> None:
    image = torch.arange(8.0).view(1, 1, 1, 8).repeat(1, 1, 4, 1)
    disp = torch.zeros(1, 2, 4, 8)
    disp[:, 1] = 0.5
    out = warp(image, disp)
    torch.testing.assert_close(out[0, 0, 0, :-1], torch.arange(7.0) + 0.5)


def test_warp_integer_labels_keeps_dtype_and_values() -> None:
    labels = torch.randint(0, 4, (1, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    disp = torch.ones(1, 2, 8, 8)
    out = warp(labels, disp, mode="nearest", padding_mode="border")
    assert out.dtype == labels.dtype
    assert torch.equal(out[0, 0, :-1, :-1], labels[0, 0, 1:, 1:])


def test_warp_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="spatial shapes differ"):
        warp(torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 8, 9))
    with pytest.raises(ValueError, match="displacement for a 2D image"):
        warp(torch.zeros(1, 1, 8, 8), torch.zeros(1, 3, 8, 8))


def test_warp_is_differentiable_in_displacement() -> None:
    image = _random((1, 1, 10, 10))
    disp = torch.zeros(1, 2, 10, 10, requires_grad=True)
    warp(image, disp + 0.3).sum().backward()
    assert disp.grad is not None and disp.grad.abs().sum() > 0


def test_affine_displacement_rotates_about_centre() -> None:
    angle = math.pi / 2
    c, s = math.cos(angle), math.sin(angle)
    matrix = torch.tensor([[[c, -s, 0.0], [s, c, 0.0]]])
    disp = affine_displacement(matrix, (5, 5))
    assert disp.shape == (1, 2, 5, 5)
    assert torch.allclose(disp[0, :, 2, 2], torch.zeros(2), atol=1e-6)  # centre stays
    image = torch.zeros(1, 1, 5, 5)
    image[0, 0, 0, 2] = 1.0  # top middle
    rotated = warp(image, disp, mode="nearest", padding_mode="zeros")
    # out(p) = image(A (p - c) + c): out(2, 4) samples A (0, 2) + c = (-2, 0) + c = (0, 2).
    assert rotated.sum() == 1 and rotated[0, 0, 2, 4] == 1


def test_resize_displacement_keeps_physical_shift() -> None:
    coarse = torch.full((1, 2, 5, 5), 2.0)
    fine = resize_displacement(coarse, (9, 9))
    torch.testing.assert_close(fine, torch.full((1, 2, 9, 9), 4.0))


@pytest.mark.parametrize("shape", [(8, 9), (6, 7, 8)])
def test_bending_energy_zero_for_affine_positive_for_random(shape: tuple[int, ...]) -> None:
    ndim = len(shape)
    gen = torch.Generator().manual_seed(0)
    matrix = torch.eye(ndim, ndim + 1).unsqueeze(0) + 0.2 * torch.randn(
        1, ndim, ndim + 1, generator=gen
    )
    affine = affine_displacement(matrix, shape)
    assert bending_energy(affine).item() < 1e-8
    assert bending_energy(affine, spacing=[2.0] * ndim).item() < 1e-8
    assert gradient_l2(affine).item() > 1e-3  # an affine field does stretch
    rough = torch.randn(2, ndim, *shape, generator=gen)
    assert bending_energy(rough).item() > 1.0
    # Scaling the field by a scales both energies by a^2.
    torch.testing.assert_close(bending_energy(3 * rough), 9 * bending_energy(rough))
    torch.testing.assert_close(gradient_l2(3 * rough), 9 * gradient_l2(rough))


def test_bending_energy_of_quadratic_field_is_analytic() -> None:
    # u_y = y^2 (2D): d2u/dy2 = 2 everywhere, all other second derivatives 0 -> energy 4.
    grid = identity_grid((7, 7))
    field = torch.zeros(1, 2, 7, 7)
    field[0, 0] = grid[0] ** 2
    torch.testing.assert_close(bending_energy(field), torch.tensor(4.0))
    # u_x = x*y: mixed derivative 1 -> energy 2 * 1^2.
    field = torch.zeros(1, 2, 7, 7)
    field[0, 1] = grid[0] * grid[1]
    torch.testing.assert_close(bending_energy(field), torch.tensor(2.0))


def test_gradient_l2_zero_for_translation() -> None:
    assert gradient_l2(torch.full((1, 3, 4, 5, 6), 1.7)).item() == 0.0
    with pytest.raises(ValueError, match="displacement must be"):
        gradient_l2(torch.zeros(1, 3, 4, 4))


# --------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize(
    ("dims", "size", "norm", "residual"),
    [
        (2, (32, 32), "batch", False),
        (2, (37, 50), "instance", True),
        (3, (16, 16, 16), None, False),
        (3, (9, 12, 10), "group", True),
    ],
)
def test_unet_output_shape_matches_input(
    dims: int, size: tuple[int, ...], norm: str | None, residual: bool
) -> None:
    net = UNet(
        dims, in_channels=2, out_channels=3, features=(4, 8, 16), norm=norm, residual=residual
    )
    x = _random((2, 2, *size))
    assert net(x).shape == (2, 3, *size)


def test_unet_return_features_shapes() -> None:
    net = UNet(2, in_channels=1, out_channels=4, features=(4, 8, 16, 32))
    logits, feats = net(_random((1, 1, 24, 40)), return_features=True)
    assert logits.shape == (1, 4, 24, 40)
    assert [f.shape[1] for f in feats["encoder"]] == [4, 8, 16, 32]
    assert feats["bottleneck"].shape == (1, 32, 3, 5)
    assert [tuple(f.shape[1:]) for f in feats["decoder"]] == [(16, 6, 10), (8, 12, 20), (4, 24, 40)]


def test_unet_padding_does_not_leak_into_crop() -> None:
    # Padded input: the logits equal those of the manually padded input, cropped.
    torch.manual_seed(0)
    net = UNet(2, 1, 2, features=(4, 8), norm=None).eval()
    x = _random((1, 1, 7, 6))
    padded = torch.nn.functional.pad(x, (0, 0, 0, 1))  # H 7 -> 8, pad split (0 before, 1 after)
    torch.testing.assert_close(net(x), net(padded)[:, :, :7, :])


def test_unet_strict_size_raises_clear_error() -> None:
    net = UNet(2, 1, 2, features=(4, 8, 16), pad_input=False)
    with pytest.raises(ValueError, match="not divisible by 4"):
        net(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="expected input"):
        net(torch.zeros(1, 2, 32, 32))
    with pytest.raises(ValueError, match="unknown norm"):
        UNet(2, 1, 2, norm="layer")


def test_unet_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    net = UNet(3, 1, 2, features=(4, 8, 8), norm="instance", dropout=0.1, residual=True)
    out = net(_random((2, 1, 8, 8, 8)))
    out.square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


def test_count_parameters_by_hand() -> None:
    net = UNet(2, 1, 2, features=(2, 4), norm=None)
    # stem: 1->2 (3x3, bias) + 2->2; down: 2->4 + 4->4; up: convT 4->2 (2x2) + block 4->2 + 2->2;
    # head: 2->2 (1x1).
    expected = (
        (9 * 1 * 2 + 2)
        + (9 * 2 * 2 + 2)
        + (9 * 2 * 4 + 4)
        + (9 * 4 * 4 + 4)
        + (4 * 4 * 2 + 2)
        + (9 * 4 * 2 + 2)
        + (9 * 2 * 2 + 2)
        + (2 * 2 + 2)
    )
    assert count_parameters(net) == net.num_parameters() == expected
    net.head.weight.requires_grad_(False)
    assert count_parameters(net) == expected - 4
    assert count_parameters(net, trainable_only=False) == expected

"""Tests for zmic_lessons.core.metrics against shapes with known answers and against skimage."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from zmic_lessons.core.metrics import (
    assd,
    dice,
    dice_per_class,
    hausdorff,
    hausdorff95,
    psnr,
    ssim,
    surface_distances,
)


def ball(shape: tuple[int, ...], spacing: tuple[float, ...], centre_mm, radius_mm) -> np.ndarray:
    """A disc/sphere drawn in physical (mm) coordinates on an anisotropic grid."""
    axes = [np.arange(n) * s for n, s in zip(shape, spacing, strict=True)]
    grid = np.meshgrid(*axes, indexing="ij")
    return sum((g - c) ** 2 for g, c in zip(grid, centre_mm, strict=True)) <= radius_mm**2


# --------------------------------------------------------------------------- Dice


def test_dice_half_overlapping_squares() -> None:
    a = np.zeros((20, 20), bool)
    b = np.zeros((20, 20), bool)
    a[0:10, 0:10] = True
    b[0:10, 5:15] = True  # overlap 50 of 100 each -> 2*50/200
    assert dice(a, b) == pytest.approx(0.5)
    assert dice(a, a) == 1.0
    assert dice(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(0.5)


def test_dice_empty_cases() -> None:
    empty = np.zeros((5, 5))
    full = np.ones((5, 5))
    assert dice(empty, empty) == 1.0
    assert dice(empty, full) == 0.0 and dice(full, empty) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        dice(np.zeros((4, 4)), np.zeros((4, 5)))


def test_dice_per_class_names_and_values() -> None:
    gt = np.array([[0, 1, 1, 2], [0, 1, 2, 2]])
    pred = np.array([[0, 1, 2, 2], [0, 1, 2, 2]])
    scores = dice_per_class(pred, gt, {"LV": 1, "Myo": 2, "RV": 3})
    assert list(scores) == ["LV", "Myo", "RV"]
    assert scores["LV"] == pytest.approx(2 * 2 / 5)
    assert scores["Myo"] == pytest.approx(2 * 3 / 7)
    assert scores["RV"] == 1.0  # absent in both
    assert dice_per_class(torch.from_numpy(pred), torch.from_numpy(gt), [1, 2]) == {
        "1": scores["LV"],
        "2": scores["Myo"],
    }


# --------------------------------------------------------------------------- surface distances


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0)])
def test_concentric_discs_distances_equal_radius_gap_in_mm(spacing: tuple[float, float]) -> None:
    # Circles of radius 20 and 30 mm: every surface point is exactly 10 mm from the other surface.
    shape = tuple(int(100 / s) for s in spacing)
    inner = ball(shape, spacing, (50, 50), 20)
    outer = ball(shape, spacing, (50, 50), 30)
    tol = max(spacing) / 2 + 0.1  # discretisation: the surfaces are voxel-quantised
    assert hausdorff95(inner, outer, spacing) == pytest.approx(10.0, abs=tol)
    assert hausdorff(inner, outer, spacing) == pytest.approx(10.0, abs=tol)
    assert assd(inner, outer, spacing) == pytest.approx(10.0, abs=tol)
    # Symmetric in its arguments.
    assert assd(outer, inner, spacing) == pytest.approx(assd(inner, outer, spacing))


def test_concentric_spheres_anisotropic_3d() -> None:
    spacing = (2.0, 1.0, 0.5)
    shape = tuple(int(60 / s) for s in spacing)
    inner = ball(shape, spacing, (30, 30, 30), 12)
    outer = ball(shape, spacing, (30, 30, 30), 18)
    assert hausdorff95(inner, outer, spacing) == pytest.approx(6.0, abs=1.1)
    assert assd(inner, outer, spacing) == pytest.approx(6.0, abs=1.1)
    # Ignoring the spacing (voxel units) would be far off: the point of passing it.
    assert hausdorff(inner, outer, 1.0) > 10.0  # 6 mm along the 0.5 mm axis is 12 voxels


def test_offset_discs_match_analytic_values() -> None:
    # Two discs of radius r whose centres are d apart along x. A point at angle t on one circle is
    # |sqrt(r^2 + d^2 + 2 r d cos t) - r| from the other circle; HD = d.
    r, d, spacing = 20.0, 8.0, (0.5, 0.5)
    shape = (200, 200)
    a = ball(shape, spacing, (50, 46), r)
    b = ball(shape, spacing, (50, 54), r)
    t = np.linspace(0, 2 * np.pi, 100_000, endpoint=False)
    dist = np.abs(np.sqrt(r**2 + d**2 + 2 * r * d * np.cos(t)) - r)
    assert hausdorff(a, b, spacing) == pytest.approx(d, abs=0.5)
    assert hausdorff95(a, b, spacing) == pytest.approx(np.percentile(dist, 95), abs=0.5)
    assert assd(a, b, spacing) == pytest.approx(dist.mean(), abs=0.5)
    # Anisotropic grid: the maximum is still d.
    spacing = (2.0, 0.5)
    shape = (50, 200)
    a = ball(shape, spacing, (50, 46), r)
    b = ball(shape, spacing, (50, 54), r)
    assert hausdorff(a, b, spacing) == pytest.approx(d, abs=1.0)


def test_identical_masks_have_zero_distance() -> None:
    mask = ball((30, 40), (1.0, 1.0), (15, 20), 8)
    for fn in (hausdorff95, assd, hausdorff):
        assert fn(mask, mask, (1.5, 0.7)) == 0.0


def test_single_voxel_shift_is_one_spacing() -> None:
    a = np.zeros((10, 10, 10), bool)
    a[3:7, 3:7, 3:7] = True
    b = np.roll(a, 1, axis=0)
    assert hausdorff(a, b, (2.5, 1.0, 1.0)) == pytest.approx(2.5)
    d_ab, d_ba = surface_distances(a, b, (2.5, 1.0, 1.0))
    assert d_ab.max() == pytest.approx(2.5) and d_ba.min() == 0.0


def test_distance_empty_cases() -> None:
    empty = np.zeros((8, 8), bool)
    mask = empty.copy()
    mask[2:5, 2:5] = True
    for fn in (hausdorff95, assd, hausdorff):
        assert fn(empty, empty, 1.0) == 0.0
        assert fn(mask, empty, 1.0) == math.inf
        assert fn(empty, mask, 1.0) == math.inf


def test_spacing_must_match_dimensions() -> None:
    mask = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match="spacing"):
        assd(mask, mask, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        hausdorff95(mask, mask, (1.0, 0.0))


# --------------------------------------------------------------------------- PSNR / SSIM


def test_psnr_matches_skimage_and_known_value() -> None:
    rng = np.random.default_rng(0)
    ref = rng.random((32, 32))
    noisy = ref + 0.05 * rng.standard_normal(ref.shape)
    expected = peak_signal_noise_ratio(ref, noisy, data_range=1.0)
    assert psnr(noisy, ref, data_range=1.0) == pytest.approx(expected)
    assert psnr(torch.from_numpy(noisy), torch.from_numpy(ref), 1.0) == pytest.approx(expected)
    # MSE 0.01 with range 1 -> 20 dB.
    assert psnr(np.full(10, 0.1), np.zeros(10), 1.0) == pytest.approx(20.0)
    assert psnr(ref, ref, 1.0) == math.inf


def test_psnr_and_ssim_require_data_range() -> None:
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.zeros(4), np.zeros(4), data_range=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="data_range"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)), data_range=0)


def test_ssim_matches_skimage_2d_3d_and_tensors() -> None:
    rng = np.random.default_rng(1)
    ref = rng.random((40, 40))
    noisy = np.clip(ref + 0.1 * rng.standard_normal(ref.shape), 0, 1)
    expected = structural_similarity(noisy, ref, data_range=1.0)
    assert ssim(noisy, ref, 1.0) == pytest.approx(expected)
    # Leading (N, C) singleton axes from a network output are squeezed.
    t_noisy = torch.from_numpy(noisy)[None, None].float()
    t_ref = torch.from_numpy(ref)[None, None].float()
    assert ssim(t_noisy, t_ref, 1.0) == pytest.approx(expected, abs=1e-5)
    assert ssim(ref, ref, 1.0) == pytest.approx(1.0)
    vol = rng.random((12, 16, 16))
    vol_noisy = vol + 0.1 * rng.standard_normal(vol.shape)
    assert ssim(vol_noisy, vol, 1.0) == pytest.approx(
        structural_similarity(vol_noisy, vol, data_range=1.0)
    )
    kw = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    assert ssim(noisy, ref, 1.0, **kw) == pytest.approx(
        structural_similarity(noisy, ref, data_range=1.0, **kw)
    )


# --------------------------------------------------------------------------- MedPy cross-check


def _medpy_pairs():
    """Mask pairs whose surfaces differ in size and shape, 2D and 3D, anisotropic spacings."""
    small = ball((40, 60), (1.0, 0.5), (20, 15), 6)
    big = ball((40, 60), (1.0, 0.5), (20, 15), 14)
    shifted = ball((40, 60), (1.0, 0.5), (22, 17), 9)
    sphere = ball((12, 30, 30), (3.0, 1.0, 1.0), (18, 15, 15), 6)
    blob = ball((12, 30, 30), (3.0, 1.0, 1.0), (15, 13, 16), 10)
    rng = np.random.default_rng(0)
    noisy = big ^ (rng.random(big.shape) < 0.02)
    return [
        (small, big, (1.0, 0.5)),
        (shifted, big, (1.0, 0.5)),
        (noisy, small, (1.0, 0.5)),
        (sphere, blob, (3.0, 1.0, 1.0)),
        (blob, sphere, (0.8, 1.3, 1.0)),
    ]


@pytest.mark.parametrize("index", range(5))
def test_surface_metrics_match_medpy(index: int) -> None:
    binary = pytest.importorskip("medpy.metric.binary")
    pred, gt, spacing = _medpy_pairs()[index]
    assert assd(pred, gt, spacing) == pytest.approx(binary.assd(pred, gt, spacing), rel=1e-12)
    assert hausdorff95(pred, gt, spacing) == pytest.approx(binary.hd95(pred, gt, spacing))
    assert hausdorff(pred, gt, spacing) == pytest.approx(binary.hd(pred, gt, spacing))
    assert dice(pred, gt) == pytest.approx(binary.dc(pred, gt))


def test_assd_is_pooled_not_the_mean_of_directed_means() -> None:
    # A 4 mm disc off-centre in a 14 mm one: the big surface has ~4x the voxels and is farther
    # from the small one than the small one is from it, so the two definitions differ.
    small = ball((60, 60), (1.0, 1.0), (30, 40), 4)
    big = ball((60, 60), (1.0, 1.0), (30, 30), 14)
    a, b = surface_distances(small, big, 1.0)
    pooled = np.concatenate([a, b]).mean()
    symmetric = (a.mean() + b.mean()) / 2
    assert abs(pooled - symmetric) > 0.1 * symmetric  # the two are distinguishable here
    assert assd(small, big, 1.0) == pytest.approx(pooled)
    assert assd(big, small, 1.0) == pytest.approx(pooled)


def test_nan_or_infinite_spacing_is_refused() -> None:
    mask = ball((20, 20), (1.0, 1.0), (10, 10), 5)
    for bad in ((1.0, float("nan")), (float("inf"), 1.0), (0.0, 1.0)):
        with pytest.raises(ValueError, match="positive, finite"):
            assd(mask, mask, bad)

"""Restoration scores: PSNR/SSIM with an explicit range and shaved border, and the degradation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from zmic_lessons.restoration import bicubic_upsample, downsample, psnr_shaved, shave, ssim_shaved
from zmic_lessons.restoration.evaluation import lr_psnr
from zmic_lessons.restoration.settings import Settings


def _pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.random((40, 36))
    return np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1), ref


@pytest.mark.parametrize("border", [0, 2, 4])
def test_psnr_and_ssim_match_scikit_image_on_the_shaved_images(border: int) -> None:
    x, ref = _pair(border)
    xs, rs = (a[border : a.shape[0] - border, border : a.shape[1] - border] for a in (x, ref))
    assert psnr_shaved(x, ref, border) == pytest.approx(
        peak_signal_noise_ratio(rs, xs, data_range=1.0), rel=1e-9
    )
    assert ssim_shaved(x, ref, border) == pytest.approx(
        structural_similarity(xs, rs, data_range=1.0), rel=1e-9
    )


def test_the_data_range_is_explicit() -> None:
    x, ref = _pair()
    assert psnr_shaved(x * 255, ref * 255, 2, data_range=255.0) == pytest.approx(
        psnr_shaved(x, ref, 2), rel=1e-9
    )
    with pytest.raises(ValueError, match="data_range"):
        psnr_shaved(x, ref, 2, data_range=0.0)


def test_shave_drops_the_border() -> None:
    assert shave(np.zeros((10, 12)), 3).shape == (4, 6)
    assert shave(np.zeros((1, 10, 12)), 0).shape == (1, 10, 12)


def test_downsampling_is_linear_and_keeps_constants() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 1, 16, 16, generator=g), torch.rand(1, 1, 16, 16, generator=g)
    torch.testing.assert_close(
        downsample(2 * a + b, 2, 0.8), 2 * downsample(a, 2, 0.8) + downsample(b, 2, 0.8)
    )
    flat = torch.full((1, 1, 16, 16), 0.3)
    torch.testing.assert_close(downsample(flat, 2, 0.8), torch.full((1, 1, 8, 8), 0.3))
    torch.testing.assert_close(bicubic_upsample(torch.full((1, 1, 8, 8), 0.3), 2), flat)
    with pytest.raises(ValueError, match="multiple of scale"):
        downsample(torch.zeros(1, 1, 15, 16), 2, 0.8)


def test_lr_consistency_of_the_true_image_is_perfect() -> None:
    settings = Settings()
    hr = np.random.default_rng(1).random((32, 32)).astype(np.float32)
    lr = downsample(torch.from_numpy(hr)[None, None], 2, settings.blur_sigma)[0, 0].numpy()
    assert lr_psnr(hr, lr, settings) == float("inf")

"""Scores on the held-out images: PSNR/SSIM with an explicit data range and a shaved border.

No training here. PSNR and SSIM come from :mod:`zmic_lessons.core.metrics` on images in [0, 1]
(``data_range = 1``), after shaving ``border`` pixels off each side (``scale`` pixels for SR, as
the papers' MATLAB scripts do; none for denoising). The LR-consistency PSNR degrades the output
back with ``D`` and compares it with the LR input (the talk's BayeSR table's ``LR-PSNR``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..core.metrics import psnr, ssim
from .bayesr import BayeSR
from .degradation import bicubic_upsample, downsample
from .experiment import ExperimentData, degrade
from .settings import Settings

__all__ = [
    "TestCase",
    "lr_psnr",
    "make_test_cases",
    "predict",
    "psnr_shaved",
    "shave",
    "ssim_shaved",
]

DATA_RANGE = 1.0


def shave(image: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels on each side of the last two axes."""
    if border <= 0:
        return image
    return image[..., border:-border, border:-border]


def psnr_shaved(
    x: np.ndarray, ref: np.ndarray, border: int, data_range: float = DATA_RANGE
) -> float:
    """PSNR (dB) of ``x`` against ``ref`` after shaving ``border`` pixels."""
    return psnr(shave(x, border), shave(ref, border), data_range=data_range)


def ssim_shaved(
    x: np.ndarray, ref: np.ndarray, border: int, data_range: float = DATA_RANGE
) -> float:
    """Mean SSIM (skimage's default 7x7 window) after shaving ``border`` pixels."""
    return ssim(shave(x, border), shave(ref, border), data_range=data_range)


@dataclass
class TestCase:
    """One held-out image: the clean HR crop and the two degraded inputs (``float32``)."""

    name: str
    hr: np.ndarray  # (H, W)
    lr: np.ndarray  # (H / s, W / s)
    noisy: np.ndarray  # (H, W)


def _centre_crop(image: np.ndarray, size: int, multiple: int) -> np.ndarray:
    h, w = image.shape
    size_h = min(h, size) if size > 0 else h
    size_w = min(w, size) if size > 0 else w
    size_h, size_w = size_h - size_h % multiple, size_w - size_w % multiple
    top, left = (h - size_h) // 2, (w - size_w) // 2
    return image[top : top + size_h, left : left + size_w]


def make_test_cases(data: ExperimentData, settings: Settings, seed: int) -> list[TestCase]:
    """Centre crops of the held-out images with their LR and noisy versions (fixed noise)."""
    cases = []
    for i, (name, image) in enumerate(data.test.items()):
        hr = np.ascontiguousarray(_centre_crop(image, settings.eval_size, settings.scale))
        t = torch.from_numpy(hr)[None, None]
        lr = degrade(t, "sr", settings)[0, 0].numpy()
        noisy = degrade(t, "denoise", settings, noise_seed=10_000 + 7 * seed + i)[0, 0].numpy()
        cases.append(TestCase(name, hr, lr, noisy))
    return cases


def predict(model: nn.Module | str, y: np.ndarray, scale: int, device: torch.device) -> np.ndarray:
    """Restore one image ``y (h, w)`` with a trained network (or ``"bicubic"``), in [0, 1].

    BayeSR returns its posterior-mean estimate ``clip(mu_x + mu_z)``.
    """
    t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None].to(device)
    with torch.no_grad():
        if isinstance(model, str):
            if model != "bicubic":
                raise ValueError(f"unknown method {model!r}")
            out = bicubic_upsample(t, scale)
        elif isinstance(model, BayeSR):
            out = model.eval()(t, sample=False).image
        else:
            out = model.eval()(t).image
    return out.clamp(0.0, 1.0)[0, 0].cpu().numpy()


def lr_psnr(output: np.ndarray, lr: np.ndarray, settings: Settings) -> float:
    """PSNR of ``D(output)`` against the LR input (LR consistency), border ``1`` LR pixel."""
    t: Tensor = torch.from_numpy(np.ascontiguousarray(output))[None, None]
    back = downsample(t, settings.scale, settings.blur_sigma)[0, 0].numpy()
    return psnr_shaved(back, lr, 1)

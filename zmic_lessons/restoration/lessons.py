"""Notebook helpers: one step of each method taken apart, and the arrays behind the figures.

No training loop and no viewer here (viewers live in :mod:`zmic_lessons.viz`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bayesr import BayeSR, Priors, gamma_means
from .ronet import RODec

__all__ = [
    "BayeSRMaps",
    "bayesr_maps",
    "decomposition_frames",
    "residual_energies",
    "ro_components",
    "svd_components",
    "zoom",
]


def svd_components(image: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` terms ``sigma_i u_i v_i^T`` of the SVD, and the residual after them.

    Returns:
        ``(components (k, H, W), residual (H, W))``; by Eckart-Young their sum is the best
        rank-``k`` approximation in Frobenius norm.
    """
    u, s, vt = np.linalg.svd(np.asarray(image, dtype=np.float64), full_matrices=False)
    comps = np.stack([s[i] * np.outer(u[:, i], vt[i]) for i in range(k)])
    return comps.astype(np.float32), (image - comps.sum(0)).astype(np.float32)


def ro_components(
    dec: RODec, image: np.ndarray, k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """RODec's rank-one components of ``image (H, W)`` and its residual.

    Returns:
        ``(components (k, H, W), residual (H, W))``.
    """
    device = next(dec.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None].to(device)
    with torch.no_grad():
        parts, residual = dec(x, k)
    return parts[0, :, 0].cpu().numpy(), residual[0, 0].cpu().numpy()


def residual_energies(dec: RODec, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residual energy ``||R_k||_F^2 / ||X||_F^2`` for ``k = 0..K``: RODec and the SVD optimum.

    The SVD's is ``sum_{i > k} sigma_i^2 / sum_i sigma_i^2`` (Eckart-Young): no rank-``k`` sum,
    learned or not, leaves less.
    """
    total = float(np.sum(np.asarray(image, dtype=np.float64) ** 2))
    ours = [1.0]
    for k in range(1, dec.n_components + 1):
        _, residual = ro_components(dec, image, k)
        ours.append(float(np.sum(residual.astype(np.float64) ** 2)) / total)
    s = np.linalg.svd(np.asarray(image, dtype=np.float64), compute_uv=False)
    tail = [float(np.sum(s[k:] ** 2)) / total for k in range(dec.n_components + 1)]
    return np.array(ours), np.array(tail)


def decomposition_frames(
    dec: RODec, image: np.ndarray
) -> tuple[list[dict[str, np.ndarray]], list[str]]:
    """Frames for :func:`zmic_lessons.viz.frames_figure`: component ``k`` and the residual
    after ``k`` components, RODec beside the SVD, for ``k = 1..K``."""
    k_max = dec.n_components
    ro, _ = ro_components(dec, image)
    sv, _ = svd_components(image, k_max)
    frames, titles = [], []
    for k in range(1, k_max + 1):
        frames.append({
            "RONet component k": ro[k - 1],
            "SVD component k": sv[k - 1],
            "RONet residual": image - ro[:k].sum(0),
            "SVD residual": image - sv[:k].sum(0),
        })  # fmt: skip
        titles.append(f"k = {k}")
    return frames, titles


@dataclass
class BayeSRMaps:
    """BayeSR's posterior pieces for one LR image (HR maps ``(H, W)``, LR maps ``(h, w)``).

    Attributes:
        smooth: ``mu_x``, the smooth component.
        sparse: ``mu_z``, the sparse component (edges and texture).
        estimate: ``clip(mu_x + mu_z)``.
        noise_mean: ``mu_m`` (LR).
        noise_std: ``1 / sqrt(E[rho])`` (LR): the per-pixel noise level the model infers.
        samples: ``(n, H, W)`` posterior samples ``clip(x~ + z~)``.
        sample_std: Per-pixel standard deviation of the samples.
        precision_smooth: ``E[upsilon]`` (HR): large where the image is flat.
    """

    smooth: np.ndarray
    sparse: np.ndarray
    estimate: np.ndarray
    noise_mean: np.ndarray
    noise_std: np.ndarray
    samples: np.ndarray
    sample_std: np.ndarray
    precision_smooth: np.ndarray


def bayesr_maps(model: BayeSR, lr: np.ndarray, n_samples: int, seed: int = 0) -> BayeSRMaps:
    """Run BayeSR on ``lr (h, w)``: its means, the inferred noise and ``n_samples`` samples."""
    device = next(model.parameters()).device
    y = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))[None, None].to(device)
    model.eval()
    with torch.no_grad():
        mean = model(y, sample=False)
        torch.manual_seed(seed)
        samples = torch.cat([model(y).sample_image for _ in range(max(1, n_samples))])
        e = y - model.downsample(mean.mu_x + mean.mu_z) - mean.mu_m
        upsilon, _, rho = gamma_means(
            e, mean.mu_x, mean.logvar_x.exp(), mean.mu_z, mean.logvar_z.exp(), Priors()
        )
    np_ = lambda t: t[0, 0].cpu().numpy()  # noqa: E731
    s = samples[:, 0].cpu().numpy()
    return BayeSRMaps(
        smooth=np_(mean.mu_x), sparse=np_(mean.mu_z), estimate=np_(mean.image),
        noise_mean=np_(mean.mu_m), noise_std=np_(rho.rsqrt()), samples=s,
        sample_std=s.std(axis=0), precision_smooth=np_(upsilon),
    )  # fmt: skip


def zoom(image: np.ndarray, centre: tuple[int, int], size: int) -> np.ndarray:
    """A ``size x size`` crop of ``image`` around ``centre (row, col)`` (kept inside)."""
    h, w = image.shape[-2:]
    top = int(np.clip(centre[0] - size // 2, 0, max(0, h - size)))
    left = int(np.clip(centre[1] - size // 2, 0, max(0, w - size)))
    return image[..., top : top + size, left : left + size]

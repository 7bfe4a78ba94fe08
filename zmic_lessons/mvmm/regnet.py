"""MvMM-RegNet (Luo & Zhuang, MICCAI 2020): a registration network trained by the MvMM likelihood.

A small U-Net predicts a dense displacement (pixels) that warps an atlas (image + labels) onto a
target. Its loss is the negative MvMM log-likelihood of the target, evaluated in the common
space (the target's grid), plus a bending-energy penalty:

    -LL = -mean_x log sum_k pi_k f_k(I(x)) prod_i P_ik(T_i(x)),

with ``P_ik`` the Gaussian-smoothed one-hot labels of atlas ``i`` (the paper's "label
consistency" term), a flat prior ``pi_k`` and one Gaussian ``f_k`` per class for the target's
appearance, whose mean and variance are re-estimated (a few EM steps, no gradient) in every loss
evaluation. The gradient reaches the network only through the warped ``P_ik``.

Pairwise (one atlas) for training; groupwise for multi-atlas segmentation: the fused label is
``argmax_k f_k(I(x)) prod_i P(L_i(T_i(x)) | k)``, label fusion inside the model, where each
atlas mislabels with its own error rate, estimated by EM (:func:`fuse_with_noise`); compared
with majority voting of the warped atlas labels. (The error rates are our addition, not taken
from the paper: with the smoothed labels alone in the product (:func:`fuse_product`, metric
``regnet_dice_product_fusion``), one badly registered atlas can veto a label.)

The experiment (phantom slices, training with the shared trainer, pairwise and groupwise
evaluation) is :mod:`.regnet_experiment`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..core.ops import gaussian_blur, one_hot
from ..nn.unet import UNet
from .atlas import CLASSES

N_CLASSES = len(CLASSES)


class RegNet(nn.Module):
    """U-Net mapping ``(moving, fixed)`` images ``(N, 2, H, W)`` to a displacement ``(N, 2, H, W)``.

    The displacement is in pixels, channels ``(y, x)`` (the convention of
    :func:`zmic_lessons.nn.spatial.warp`). The head starts at zero, so an untrained network
    returns the identity.

    Args:
        features: U-Net channels per level.
        max_disp_px: Soft bound: the displacement is ``max_disp_px * tanh(raw / max_disp_px)``.
        scale_px: The raw output is multiplied by this, so a unit change of the last layer moves
            pixels by ``scale_px`` (keeps the head's learning rate in step with the image size).
    """

    def __init__(
        self,
        features: tuple[int, ...] = (8, 16, 32, 32),
        max_disp_px: float = 12.0,
        scale_px: float = 4.0,
    ) -> None:
        super().__init__()
        self.unet = UNet(2, in_channels=2, out_channels=2, features=features, norm="instance")
        nn.init.zeros_(self.unet.head.weight)
        nn.init.zeros_(self.unet.head.bias)
        self.max_disp_px = float(max_disp_px)
        self.scale_px = float(scale_px)

    def forward(self, pair: Tensor) -> Tensor:
        raw = self.scale_px * self.unet(pair)
        return self.max_disp_px * torch.tanh(raw / self.max_disp_px)


def label_likelihood(labels: Tensor, sigma: float = 1.0, floor: float = 1e-3) -> Tensor:
    """``P(S | k)``: Gaussian-smoothed one-hot labels (the label-consistency term), floored.

    Args:
        labels: ``(N, H, W)`` MvMM class maps (values ``0..K-1``).
        sigma: Smoothing in pixels (radius ``3 sigma``).
        floor: Added before renormalising, so that ``log P`` stays finite.

    Returns:
        ``(N, K, H, W)``, summing to 1 over ``K``.
    """
    if labels.dim() != 3:
        raise ValueError(f"label_likelihood: expected (N, H, W) labels, got {tuple(labels.shape)}")
    p = gaussian_blur(one_hot(labels, N_CLASSES, dim=1), sigma).clamp_min(0) + floor
    return p / p.sum(1, keepdim=True)


def appearance_loglik(image: Tensor, log_label: Tensor, em_steps: int = 3) -> Tensor:
    """``log f_k(I(x))``: a Gaussian mixture per class fitted to the target by EM (no gradient).

    The background gets two components (dark lung and air, bright fat and liver); each tissue
    class one. The first M-step takes the label term alone as responsibilities, the two
    background components split at the background's mean.

    Args:
        image: ``(N, H, W)`` target intensities.
        log_label: ``(N, K, H, W)`` log label term ``sum_i log P_ik`` (the spatial prior).
        em_steps: EM iterations.

    Returns:
        ``(N, K, H, W)`` class log densities, detached.
    """
    with torch.no_grad():
        x = image[:, None]
        floor = 1e-4 * (x.var() + 1e-12)
        prior = torch.softmax(log_label, 1)
        bg = prior[:, :1]
        bg_mean = (bg * x).sum((2, 3), keepdim=True) / bg.sum((2, 3), keepdim=True).clamp_min(1e-6)
        dark = (x < bg_mean).float()
        resp = torch.cat([bg * dark, bg * (1 - dark), prior[:, 1:]], 1)  # (N, K + 1, H, W)
        for step in range(em_steps + 1):
            mass = resp.sum((2, 3), keepdim=True).clamp_min(1e-6)
            mean = (resp * x).sum((2, 3), keepdim=True) / mass
            var = ((resp * (x - mean) ** 2).sum((2, 3), keepdim=True) / mass).clamp_min(floor)
            log_g = -0.5 * ((x - mean) ** 2 / var + torch.log(2 * math.pi * var))
            weight = mass[:, :2] / mass[:, :2].sum(1, keepdim=True)
            log_bg = torch.logsumexp(log_g[:, :2] + weight.log(), 1, keepdim=True)
            log_f = torch.cat([log_bg, log_g[:, 2:]], 1)
            if step < em_steps:
                post = torch.softmax(log_label + log_f, 1)
                split = torch.softmax(log_g[:, :2] + weight.log(), 1)
                resp = torch.cat([post[:, :1] * split, post[:, 1:]], 1)
    return log_f


def mvmm_nll(
    target: Tensor,
    warped_probs: list[Tensor],
    em_steps: int = 3,
) -> Tensor:
    """Mean negative MvMM log-likelihood per pixel of a batch of targets (flat prior).

    Args:
        target: ``(N, H, W)`` target images (the common space).
        warped_probs: One ``(N, K, H, W)`` label likelihood per atlas, warped to the target.
        em_steps: EM iterations for the target's appearance model (detached).

    Returns:
        Scalar loss, differentiable with respect to ``warped_probs``.
    """
    if not warped_probs:
        raise ValueError("mvmm_nll needs at least one warped atlas")
    log_label = sum(p.clamp_min(1e-12).log() for p in warped_probs)
    log_f = appearance_loglik(target, log_label.detach(), em_steps)
    log_pi = -math.log(N_CLASSES)
    return -(torch.logsumexp(log_label + log_f + log_pi, 1)).mean()


def label_noise_loglik(warped_probs: Tensor, noise: Tensor) -> Tensor:
    """``sum_i log P(L_i(x) | k)`` for atlases that mislabel with probability ``noise_i``.

    Each atlas is a rater: it reports the true class with probability ``1 - noise_i`` and each
    other class with ``noise_i / (K - 1)``; soft (warped, smoothed) labels ``p_il`` average the
    log-probabilities over ``l``.

    Args:
        warped_probs: ``(N_atlas, K, H, W)`` warped label probabilities.
        noise: ``(N_atlas,)`` error rates in ``(0, 1 - 1/K)``.

    Returns:
        ``(K, H, W)``.
    """
    k = warped_probs.shape[1]
    log_same = torch.log1p(-noise)
    log_other = torch.log(noise / (k - 1))
    gain = (log_same - log_other).view(-1, 1, 1, 1)
    return (warped_probs * gain + log_other.view(-1, 1, 1, 1)).sum(0)


def fuse_with_noise(
    target: Tensor | None, warped_probs: Tensor, em_steps: int = 10, noise_init: float = 0.1
) -> tuple[Tensor, Tensor]:
    """Groupwise label fusion inside the model, with each atlas's reliability estimated by EM.

    The target image and the warped atlases are the MvMM's observations of one hidden label:
    ``p(k | x) ∝ f_k(I(x)) prod_i P(L_i(x) | k)``. The E-step gives the posteriors, the M-step the
    appearance (:func:`appearance_loglik`) and each atlas's error rate (one minus its expected
    agreement with the posterior, as in STAPLE). A badly registered atlas gets a high error
    rate and so little say; with no appearance term it is a weighted vote.

    Args:
        target: ``(H, W)`` target image, or ``None`` for no appearance term (labels only).
        warped_probs: ``(N_atlas, K, H, W)`` warped label probabilities.
        em_steps: EM iterations.
        noise_init: Starting error rate of every atlas.

    Returns:
        ``((H, W)`` int64 class map, ``(N_atlas,)`` estimated error rates).
    """
    if em_steps < 1:
        raise ValueError(f"fuse_with_noise needs at least one EM step, got em_steps={em_steps}")
    n, k = warped_probs.shape[:2]
    noise = warped_probs.new_full((n,), noise_init)
    for _ in range(em_steps):
        log_label = label_noise_loglik(warped_probs, noise)
        log_post = log_label
        if target is not None:
            log_post = log_label + appearance_loglik(target[None], log_label[None], 3)[0]
        gamma = torch.softmax(log_post, 0)
        agree = (gamma[None] * warped_probs).sum(1).mean((1, 2))
        noise = (1.0 - agree).clamp(1e-3, 1.0 - 1.0 / k - 1e-3)
    return log_post.argmax(0), noise


def fuse(target: Tensor | None, warped_probs: Tensor, em_steps: int = 10) -> Tensor:
    """The class map of :func:`fuse_with_noise` (``(H, W)`` int64)."""
    return fuse_with_noise(target, warped_probs, em_steps)[0]


def fuse_product(target: Tensor, warped_probs: Tensor, em_steps: int = 10) -> Tensor:
    """Fusion with the smoothed labels multiplied as they are (no error rates), for contrast.

    ``argmax_k f_k(I) prod_i P_ik``: a label any one atlas gives ~0 is vetoed.
    """
    log_label = warped_probs.clamp_min(1e-12).log().sum(0)
    return (log_label + appearance_loglik(target[None], log_label[None], em_steps)[0]).argmax(0)


def majority_vote(warped_labels: Tensor) -> Tensor:
    """Per-pixel most frequent class of ``(N_atlas, H, W)`` label maps (ties: lowest class)."""
    votes = one_hot(warped_labels, N_CLASSES, dim=-1).sum(0)
    return votes.argmax(-1)

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

Like the paper's 144 x 144 crops, the lesson works on a region of interest: the phantom is
simulated at twice the lesson's size and a fixed ``size x size`` window is cut where the
*training* hearts lie on average (no target label is used to place it), so the remaining
misalignment is the case-to-case variation of position, size and shape that the network learns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.metrics import dice
from ..core.training import History, fit
from ..data.cardiac import simulate_case
from ..data.labels import SEQUENCES
from ..nn.spatial import bending_energy, warp
from ..nn.unet import UNet
from .atlas import CLASSES, LV_K, MYO_K, tissue_classes

#: Field of view of the simulated phantom (mm), before the region of interest is cut.
FOV_MM = 192.0
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


def _gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)``, radius ``3 sigma``, replicate padding."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    n, c, h, w = x.shape
    y = F.pad(x.reshape(n * c, 1, h, w), (radius,) * 4, mode="replicate")
    y = F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w)


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
    oh = F.one_hot(labels.long(), N_CLASSES).movedim(-1, 1).float()
    p = _gaussian_blur(oh, sigma).clamp_min(0) + floor
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


def mvmm_nll(target: Tensor, warped_probs: list[Tensor], em_steps: int = 3) -> Tensor:
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
    votes = F.one_hot(warped_labels.long(), N_CLASSES).sum(0)
    return votes.argmax(-1)


@dataclass
class RegNetResult:
    """Metrics and artefacts of the RegNet lesson."""

    metrics: dict[str, float]
    history: History
    model: RegNet
    examples: dict[str, Any] = field(default_factory=dict)


def _simulate(n: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ventricular bSSFP slices ``(n, 2 size, 2 size)`` and class maps of ``n`` phantoms."""
    images, labels = [], []
    for i in range(n):
        case = simulate_case(seed + i, size=2 * size, n_slices=1, pixel_mm=FOV_MM / (2 * size))
        img = case.images[SEQUENCES[0]][0].astype(np.float32)
        images.append(img / max(float(np.percentile(img, 99)), 1e-6))
        labels.append(tissue_classes(case.labels[0]))
    return np.stack(images), np.stack(labels)


def heart_centre(labels: np.ndarray) -> tuple[int, int]:
    """Mean centre (pixels) of the left ventricle + myocardium over ``(N, H, W)`` class maps."""
    heart = (labels == LV_K) | (labels == MYO_K)
    if not heart.any():
        raise ValueError("heart_centre: no heart label in the training slices")
    _, ys, xs = np.nonzero(heart)
    return int(round(ys.mean())), int(round(xs.mean()))


def crop(arrays: np.ndarray, centre: tuple[int, int], size: int) -> np.ndarray:
    """Cut a ``size x size`` window centred at ``centre`` from ``(N, H, W)`` (shifted inside)."""
    h, w = arrays.shape[-2:]
    y0 = min(max(centre[0] - size // 2, 0), h - size)
    x0 = min(max(centre[1] - size // 2, 0), w - size)
    return arrays[..., y0 : y0 + size, x0 : x0 + size]


def run_regnet(settings: Any, device: torch.device, seed: int) -> RegNetResult:
    """Train pairwise MvMM-RegNet on phantom slices; evaluate pairwise and groupwise.

    Args:
        settings: The chapter's settings (``regnet_size``, ``regnet_steps``, ``regnet_cases``,
            ``regnet_atlases``; optional ``regnet_targets``, ``regnet_lr``, ``regnet_bending``,
            ``regnet_sigma_px``, ``regnet_batch``).
        device: Torch device.
        seed: Seed of the phantoms and the training.

    Returns:
        :class:`RegNetResult` with ``regnet_dice_before`` / ``regnet_dice_after`` (pairwise
        myocardium Dice of the atlas labels on held-out targets, before and after warping),
        ``regnet_dice_mvmm_fusion``, ``regnet_dice_product_fusion`` and
        ``regnet_dice_majority_vote`` (groupwise multi-atlas
        segmentation of the same targets).
    """
    size = int(settings.regnet_size)
    n_train = int(settings.regnet_cases)
    n_atlas = int(settings.regnet_atlases)
    n_target = int(getattr(settings, "regnet_targets", 6))
    lr = float(getattr(settings, "regnet_lr", 1e-3))
    lam = float(getattr(settings, "regnet_bending", 1.0))
    lam_norm = float(getattr(settings, "regnet_disp_l2", 0.01 * (64.0 / size) ** 2))
    sigma = float(getattr(settings, "regnet_sigma_px", 1.5 * size / 64.0))
    batch = int(getattr(settings, "regnet_batch", 4))
    if n_train < 2:
        raise ValueError(f"run_regnet: regnet_cases must be >= 2, got {n_train}")

    images, labels = _simulate(n_train, 20_000 + 131 * seed, size)
    test_images, test_labels = _simulate(n_atlas + n_target, 30_000 + 131 * seed, size)
    centre = heart_centre(labels)
    images, labels = crop(images, centre, size), crop(labels, centre, size)
    test_images, test_labels = crop(test_images, centre, size), crop(test_labels, centre, size)

    train_img = torch.as_tensor(images, device=device)
    train_probs = label_likelihood(torch.as_tensor(labels, device=device), sigma)
    rng = np.random.default_rng(seed)

    def batches(step: int) -> tuple[Tensor, Tensor, Tensor]:
        moving = rng.integers(0, n_train, size=batch)
        fixed = (moving + rng.integers(1, n_train, size=batch)) % n_train  # never the same case
        a, b = torch.as_tensor(moving), torch.as_tensor(fixed)
        return train_img[a], train_probs[a], train_img[b]

    def loss_fn(model: nn.Module, data: tuple[Tensor, Tensor, Tensor]):
        moving, moving_probs, fixed = data
        disp = model(torch.stack([moving, fixed], 1))
        nll = mvmm_nll(fixed, [warp(moving_probs, disp)])
        be = bending_energy(disp)
        norm = disp.pow(2).mean()
        loss = nll + lam * be + lam_norm * norm
        return loss, {"nll": nll.detach(), "bending": be.detach(), "disp_sq": norm.detach()}

    torch.manual_seed(seed)
    model = RegNet(max_disp_px=8.0 * size / 64.0, scale_px=4.0 * size / 64.0)
    history = fit(
        model, loss_fn, batches, steps=int(settings.regnet_steps), lr=lr, device=device,
        progress=False, seed=seed, log_every=10, grad_clip=10.0,
    )  # fmt: skip
    model.eval()
    metrics, examples = evaluate(
        model,
        torch.as_tensor(test_images, device=device),
        torch.as_tensor(test_labels, device=device),
        n_atlas,
        sigma,
    )
    return RegNetResult(metrics=metrics, history=history, model=model, examples=examples)


def _myo_dice(pred: Tensor, truth: Tensor) -> float:
    return float(dice(pred.cpu().numpy() == MYO_K, truth.cpu().numpy() == MYO_K))


@torch.no_grad()
def evaluate(
    model: nn.Module, images: Tensor, labels: Tensor, n_atlas: int, sigma: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """Pairwise (each atlas -> target) and groupwise (all atlases -> target) evaluation.

    Args:
        model: Maps ``(N, 2, H, W)`` (moving, fixed) to ``(N, 2, H, W)`` displacements (pixels).
        images: ``(n_atlas + n_target, H, W)``; the first ``n_atlas`` are atlases.
        labels: Class maps of the same slices.
        n_atlas: Number of atlases.
        sigma: Label smoothing of the label-consistency term (pixels).

    Returns:
        ``(metrics, examples)``; examples hold the first target's maps for figures.
    """
    if not 0 < n_atlas < images.shape[0]:
        raise ValueError(f"evaluate: need 0 < n_atlas < {images.shape[0]}, got {n_atlas}")
    atlases, atlas_labels = images[:n_atlas], labels[:n_atlas]
    targets, target_labels = images[n_atlas:], labels[n_atlas:]
    probs = label_likelihood(atlas_labels, sigma)
    before, after, fused, voted, product = [], [], [], [], []
    examples: dict[str, Any] = {}
    for t in range(targets.shape[0]):
        fixed = targets[t : t + 1].expand(n_atlas, -1, -1)
        disp = model(torch.stack([atlases, fixed], 1))
        warped_lab = warp(atlas_labels[:, None].float(), disp, mode="nearest")[:, 0].long()
        warped_probs = warp(probs, disp)
        for i in range(n_atlas):
            before.append(_myo_dice(atlas_labels[i], target_labels[t]))
            after.append(_myo_dice(warped_lab[i], target_labels[t]))
        vote_lab = majority_vote(warped_lab)
        fused_lab = fuse(targets[t], warped_probs)
        voted.append(_myo_dice(vote_lab, target_labels[t]))
        fused.append(_myo_dice(fused_lab, target_labels[t]))
        product.append(_myo_dice(fuse_product(targets[t], warped_probs), target_labels[t]))
        if t == 0:
            examples = {
                "target": targets[t].cpu(),
                "target_labels": target_labels[t].cpu(),
                "atlas_labels": atlas_labels.cpu(),
                "warped_labels": warped_lab.cpu(),
                "displacement": disp.cpu(),
                "fused": fused_lab.cpu(),
                "voted": vote_lab.cpu(),
            }
    metrics = {
        "regnet_dice_before": float(np.mean(before)),
        "regnet_dice_after": float(np.mean(after)),
        "regnet_dice_mvmm_fusion": float(np.mean(fused)),
        "regnet_dice_majority_vote": float(np.mean(voted)),
        "regnet_dice_product_fusion": float(np.mean(product)),
    }
    return metrics, examples

"""MvMM-RegNet (Luo & Zhuang, MICCAI 2020): a registration network trained by the MvMM likelihood.

A small U-Net predicts a dense displacement that warps an atlas (image + labels) onto a
target. Its loss is the negative MvMM log-likelihood of the target in the common space (the
target's grid) plus a bending-energy penalty:

    LL(x) = log sum_k pi_k f_k(I_target(x)) prod_i P_ik(T_i(x)),

with ``P_ik`` the Gaussian-smoothed one-hot labels of atlas ``i`` (the "label consistency" term
of the paper), a flat prior ``pi_k`` and a Gaussian mixture ``f_k`` for the target's
appearance whose parameters are re-estimated by EM in every loss evaluation (no gradient
through them). Pairwise: one atlas. Groupwise (multi-atlas segmentation): the fused label is
``argmax_k pi_k f_k(I(x)) prod_i P_ik(T_i(x))``, label fusion inside the model, compared with
majority voting of the warped atlas labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.metrics import dice
from ..core.training import History, fit
from ..data.cardiac import simulate_case
from ..data.labels import SEQUENCES
from ..nn.spatial import bending_energy, warp
from ..nn.unet import UNet
from .atlas import CLASSES, MYO_K, one_hot, tissue_classes
from .model import (
    active_from_counts,
    e_step,
    em,
    init_params,
    log_likelihood,
    log_prior_from_atlas,
)
from .transforms import gaussian_smooth2d


class RegNet(nn.Module):
    """U-Net mapping ``(moving, fixed)`` images ``(N, 2, H, W)`` to a displacement ``(N, 2, H, W)``.

    The last layer starts at zero, so an untrained network returns the identity.

    Args:
        features: U-Net channels per level.
        max_disp_px: The displacement is ``max_disp_px * tanh(raw)`` (pixels).
    """

    def __init__(self, features: tuple[int, ...] = (8, 16, 32), max_disp_px: float = 8.0) -> None:
        super().__init__()
        self.unet = UNet(2, in_channels=2, out_channels=2, features=features, norm="instance")
        head = [m for m in self.unet.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        self.max_disp_px = max_disp_px

    def forward(self, pair: Tensor) -> Tensor:
        return self.max_disp_px * torch.tanh(self.unet(pair) / self.max_disp_px)


def label_likelihood(labels: Tensor, sigma: float = 1.0, floor: float = 1e-3) -> Tensor:
    """``P(S | k)``: Gaussian-smoothed one-hot labels, floored and renormalised.

    Args:
        labels: ``(N, H, W)`` class maps.

    Returns:
        ``(N, K, H, W)``.
    """
    oh = one_hot(labels, len(CLASSES)).movedim(0, 1)  # (N, K, H, W)
    p = gaussian_smooth2d(oh, sigma).clamp_min(0) + floor
    return p / p.sum(1, keepdim=True)


def mvmm_nll(
    target: Tensor, warped_probs: list[Tensor], em_steps: int = 3, bg_components: int = 2
) -> Tensor:
    """Mean negative MvMM log-likelihood per pixel of a batch of targets.

    Args:
        target: ``(N, H, W)`` target images (the common space).
        warped_probs: One ``(N, K, H, W)`` label likelihood per atlas, warped to the target.
        em_steps: EM iterations for the target's appearance mixture (detached).
        bg_components: Background components of the mixture.

    Returns:
        Scalar loss (differentiable with respect to ``warped_probs``).
    """
    counts = [[bg_components, 1, 1, 1]]
    active = active_from_counts(counts, device=target.device)
    total = target.new_zeros(())
    for n in range(target.shape[0]):
        log_p = sum(p[n].clamp_min(1e-12).log() for p in warped_probs)
        prior = torch.softmax(log_p, 0)  # prod_i P_ik, normalised (flat pi)
        j = target[n][None]
        with torch.no_grad():
            params = init_params(j, prior.detach(), active)
            params, _ = em(j, params, prior.detach(), n_iter=em_steps, update_weights=False)
        log_prior = log_prior_from_atlas(prior, params.w)
        total = total + log_likelihood(j, params, log_prior) / j.numel()
        # the product's normaliser also depends on the warp: add it back so the loss is
        # -log sum_k pi_k f_k prod_i P_ik, not its normalised form
        total = total + torch.logsumexp(log_p, 0).mean()
    return -total / target.shape[0]


@dataclass
class RegNetResult:
    """Metrics and artefacts of the RegNet lesson."""

    metrics: dict[str, float]
    history: History
    model: RegNet
    examples: dict[str, Any] = field(default_factory=dict)


def _slices(n: int, seed: int, size: int) -> tuple[Tensor, Tensor]:
    """Mid-ventricular bSSFP slices and class maps of ``n`` phantom cases."""
    images, labels = [], []
    for i in range(n):
        case = simulate_case(seed + i, size=size, n_slices=1, pixel_mm=192.0 / size)
        images.append(case.images[SEQUENCES[0]][0])
        labels.append(tissue_classes(case.labels[0]))
    return torch.tensor(np.stack(images)), torch.tensor(np.stack(labels))


def run_regnet(settings: Any, device: torch.device, seed: int) -> RegNetResult:
    """Train pairwise MvMM-RegNet on phantom slices; evaluate pairwise and groupwise.

    Args:
        settings: The chapter's settings (``regnet_size``, ``regnet_steps``, ``regnet_cases``,
            ``regnet_atlases``).
        device: Torch device.
        seed: Seed of the phantoms and the training.

    Returns:
        :class:`RegNetResult` with ``regnet_dice_before`` / ``regnet_dice_after`` (pairwise
        myocardium Dice of the warped atlas labels), ``regnet_dice_mvmm_fusion`` and
        ``regnet_dice_majority_vote`` (groupwise multi-atlas segmentation).
    """
    size = settings.regnet_size
    n_train = settings.regnet_cases
    images, labels = _slices(n_train, 20_000 + 131 * seed, size)
    test_images, test_labels = _slices(4 + settings.regnet_atlases, 30_000 + 131 * seed, size)
    probs = label_likelihood(labels, sigma=size / 64.0)
    rng = np.random.default_rng(seed)
    images, probs = images.to(device), probs.to(device)

    def batches(step: int) -> tuple[Tensor, Tensor, Tensor]:
        pick = rng.integers(0, n_train, size=(4, 2))
        pick[:, 1] = np.where(pick[:, 1] == pick[:, 0], (pick[:, 0] + 1) % n_train, pick[:, 1])
        a, b = torch.as_tensor(pick[:, 0]), torch.as_tensor(pick[:, 1])
        return images[a], probs[a], images[b]

    def loss_fn(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]):
        moving, moving_probs, fixed = batch
        disp = model(torch.stack([moving, fixed], 1))
        warped = warp(moving_probs, disp)
        nll = mvmm_nll(fixed, [warped])
        be = bending_energy(disp)
        return nll + 0.5 * be, {"nll": nll.detach(), "bending": be.detach()}

    torch.manual_seed(seed)
    model = RegNet(max_disp_px=8.0 * size / 64.0)
    history = fit(
        model, loss_fn, batches, steps=settings.regnet_steps, lr=2e-3, device=device,
        progress=False, seed=seed, log_every=10,
    )  # fmt: skip
    model.eval()
    metrics, examples = evaluate(model, test_images.to(device), test_labels.to(device), settings)
    return RegNetResult(metrics=metrics, history=history, model=model, examples=examples)


def _myo_dice(pred: Tensor, truth: Tensor) -> float:
    return float(dice(pred.cpu().numpy() == MYO_K, truth.cpu().numpy() == MYO_K))


@torch.no_grad()
def evaluate(
    model: RegNet, images: Tensor, labels: Tensor, settings: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """Pairwise (atlas -> target) and groupwise (several atlases -> target) evaluation.

    The first ``regnet_atlases`` slices are atlases, the others targets.
    """
    n_atlas = settings.regnet_atlases
    atlases, atlas_labels = images[:n_atlas], labels[:n_atlas]
    targets, target_labels = images[n_atlas:], labels[n_atlas:]
    probs = label_likelihood(atlas_labels, sigma=images.shape[-1] / 64.0)
    before, after, fused, voted = [], [], [], []
    examples: dict[str, Any] = {}
    active = active_from_counts([[2, 1, 1, 1]], device=images.device)
    for t in range(targets.shape[0]):
        fixed = targets[t : t + 1].expand(n_atlas, -1, -1)
        disp = model(torch.stack([atlases, fixed], 1))
        warped_lab = warp(atlas_labels[:, None].float(), disp, mode="nearest")[:, 0].long()
        warped_probs = warp(probs, disp)
        for i in range(n_atlas):
            before.append(_myo_dice(atlas_labels[i], target_labels[t]))
            after.append(_myo_dice(warped_lab[i], target_labels[t]))
        votes = one_hot(warped_lab.reshape(-1, *warped_lab.shape[-2:])).reshape(
            len(CLASSES), n_atlas, *warped_lab.shape[-2:]
        )
        voted.append(_myo_dice(votes.sum(1).argmax(0), target_labels[t]))
        log_p = warped_probs.clamp_min(1e-12).log().sum(0)  # (K, H, W)
        prior = torch.softmax(log_p, 0)
        j = targets[t][None]
        params = init_params(j, prior, active)
        params, _ = em(j, params, prior, n_iter=10, update_weights=False)
        post = e_step(j, params, log_prior_from_atlas(prior, params.w))
        fused_lab = post.gamma.argmax(0)
        fused.append(_myo_dice(fused_lab, target_labels[t]))
        if t == 0:
            examples = {
                "target": targets[t].cpu(),
                "target_labels": target_labels[t].cpu(),
                "atlas_labels": atlas_labels.cpu(),
                "warped_labels": warped_lab.cpu(),
                "displacement": disp.cpu(),
                "fused": fused_lab.cpu(),
                "voted": votes.sum(1).argmax(0).cpu(),
            }
    metrics = {
        "regnet_dice_before": float(np.mean(before)),
        "regnet_dice_after": float(np.mean(after)),
        "regnet_dice_mvmm_fusion": float(np.mean(fused)),
        "regnet_dice_majority_vote": float(np.mean(voted)),
    }
    return metrics, examples

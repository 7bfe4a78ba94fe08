"""The MvMM-RegNet experiment: phantom slices, training by the MvMM likelihood, evaluation.

Like the paper's 144 x 144 crops, the lesson works on a region of interest: the phantom is
simulated at twice the lesson's size and a fixed ``size x size`` window is cut where the
*training* hearts lie on average (no target label is used to place it), so the remaining
misalignment is the case-to-case variation of position, size and shape that the network learns.
The network is trained pairwise (one atlas warped to one target) by the shared trainer
:func:`zmic_lessons.core.training.fit` and evaluated pairwise and groupwise (multi-atlas fusion
inside the model against a majority vote).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.training import History, checkpointing, fit
from ..data.cardiac import simulate_case
from ..data.labels import SEQUENCES
from ..nn.spatial import bending_energy, warp
from .atlas import LV_K, MYO_K, tissue_classes
from .evaluation import myo_dice
from .regnet import RegNet, fuse, fuse_product, label_likelihood, majority_vote, mvmm_nll
from .settings import FOV_MM, Settings


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


@dataclass
class RegNetData:
    """The lesson's slices, cut to the region of interest.

    Attributes:
        images, probs: Training pool ``(N, H, W)`` and its label likelihoods ``(N, K, H, W)``.
        test_images, test_labels: The first ``regnet_atlases`` are atlases, the rest targets.
        sigma: Label smoothing of the label-consistency term (pixels of this grid).
    """

    images: Tensor
    probs: Tensor
    test_images: Tensor
    test_labels: Tensor
    sigma: float


def regnet_data(settings: Settings, device: torch.device, seed: int) -> RegNetData:
    """Training pool and held-out atlases + targets, cut where the training hearts lie."""
    size, n_train = settings.regnet_size, settings.regnet_cases
    if n_train < 2:
        raise ValueError(f"run_regnet: regnet_cases must be >= 2, got {n_train}")
    images, labels = _simulate(n_train, 20_000 + 131 * seed, size)
    n_test = settings.regnet_atlases + settings.regnet_targets
    test_images, test_labels = _simulate(n_test, 30_000 + 131 * seed, size)
    centre = heart_centre(labels)
    sigma = settings.regnet_sigma_px * size / 64.0
    return RegNetData(
        torch.as_tensor(crop(images, centre, size), device=device),
        label_likelihood(torch.as_tensor(crop(labels, centre, size), device=device), sigma),
        torch.as_tensor(crop(test_images, centre, size), device=device),
        torch.as_tensor(crop(test_labels, centre, size), device=device),
        sigma,
    )


def pair_sampler(data: RegNetData, batch: int, seed: int):
    """``batches(step) -> (moving, moving_probs, fixed)``: random pairs of different cases."""
    n_train = data.images.shape[0]
    rng = np.random.default_rng(seed)

    def batches(step: int) -> tuple[Tensor, Tensor, Tensor]:
        moving = rng.integers(0, n_train, size=batch)
        fixed = (moving + rng.integers(1, n_train, size=batch)) % n_train  # never the same case
        a, b = torch.as_tensor(moving), torch.as_tensor(fixed)
        return data.images[a], data.probs[a], data.images[b]

    return batches


def regnet_loss(settings: Settings):
    """The training loss: MvMM negative log-likelihood + bending energy + displacement norm."""
    lam = settings.regnet_bending
    lam_norm = settings.regnet_disp_l2 * (64.0 / settings.regnet_size) ** 2

    def loss_fn(model: nn.Module, data: tuple[Tensor, Tensor, Tensor]):
        moving, moving_probs, fixed = data
        disp = model(torch.stack([moving, fixed], 1))
        nll = mvmm_nll(fixed, [warp(moving_probs, disp)])
        be = bending_energy(disp)
        norm = disp.pow(2).mean()
        loss = nll + lam * be + lam_norm * norm
        return loss, {"nll": nll.detach(), "bending": be.detach(), "disp_sq": norm.detach()}

    return loss_fn


def run_regnet(
    settings: Settings,
    device: torch.device,
    seed: int,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
) -> RegNetResult:
    """Train pairwise MvMM-RegNet on phantom slices; evaluate pairwise and groupwise.

    Args:
        settings: The chapter's settings (the ``regnet_*`` fields).
        device: Torch device.
        seed: Seed of the phantoms and the training.
        out: The run's folder: the network is checkpointed in ``out/checkpoints/regnet``
            (the chapter contract, :func:`zmic_lessons.core.training.checkpointing`).
        resume: Continue from that checkpoint (a complete one is not trained again).

    Returns:
        :class:`RegNetResult` with ``regnet_dice_before`` / ``regnet_dice_after`` (pairwise
        myocardium Dice of the atlas labels on held-out targets, before and after warping),
        ``regnet_dice_mvmm_fusion``, ``regnet_dice_product_fusion`` and
        ``regnet_dice_majority_vote`` (groupwise multi-atlas segmentation of the same targets).
    """
    data = regnet_data(settings, device, seed)
    size = settings.regnet_size
    torch.manual_seed(seed)
    model = RegNet(max_disp_px=8.0 * size / 64.0, scale_px=4.0 * size / 64.0)
    history = fit(
        model, regnet_loss(settings), pair_sampler(data, settings.regnet_batch, seed),
        steps=settings.regnet_steps, lr=settings.regnet_lr, device=device, progress=False,
        seed=seed, log_every=10, grad_clip=10.0,
        **checkpointing(out, "regnet", resume=resume, config=settings,
                        every=settings.regnet_steps // 4),
    )  # fmt: skip
    model.eval()
    metrics, examples = evaluate(
        model, data.test_images, data.test_labels, settings.regnet_atlases, data.sigma
    )
    return RegNetResult(metrics=metrics, history=history, model=model, examples=examples)


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
            before.append(myo_dice(target_labels[t], atlas_labels[i]))
            after.append(myo_dice(target_labels[t], warped_lab[i]))
        vote_lab = majority_vote(warped_lab)
        fused_lab = fuse(targets[t], warped_probs)
        voted.append(myo_dice(target_labels[t], vote_lab))
        fused.append(myo_dice(target_labels[t], fused_lab))
        product.append(myo_dice(target_labels[t], fuse_product(targets[t], warped_probs)))
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

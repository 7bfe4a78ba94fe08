"""Scores with ``core.metrics``: Dice per class on the target test slices (no training here)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.metrics import assd, dice_per_class
from .tasks import DomainSet

__all__ = ["mean_assd", "mean_dice", "predict", "scores"]


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Label maps ``(N, S, S)`` (int64, CPU) of images ``(N, 1, S, S)``, model in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(images[i : i + batch].to(device)).argmax(1).cpu() for i in
           range(0, len(images), batch)]  # fmt: skip
    return torch.cat(out)


def scores(pred: torch.Tensor, data: DomainSet, classes: tuple[str, ...]) -> dict[str, float]:
    """Dice of each foreground class over the whole test stack (the slices pooled, as a 3D Dice).

    Returns:
        ``{class name: Dice}`` without the background.
    """
    labels = {name: k for k, name in enumerate(classes) if k > 0}
    return dice_per_class(pred, data.labels, labels)


def mean_dice(pred: torch.Tensor, data: DomainSet, classes: tuple[str, ...]) -> float:
    """Mean foreground Dice of :func:`scores`."""
    return float(np.mean(list(scores(pred, data, classes).values())))


def mean_assd(
    pred: torch.Tensor, data: DomainSet, classes: tuple[str, ...], pixel_mm: float
) -> float:
    """ASSD (mm) averaged over slices and foreground classes; a class missing from a slice's
    prediction but present in its truth counts as the slice's diagonal (the worst case)."""
    worst = float(np.hypot(*pred.shape[-2:]) * pixel_mm)
    values = []
    for p, g in zip(pred.numpy(), data.labels.numpy(), strict=True):
        for k in range(1, len(classes)):
            if not (g == k).any():
                continue
            values.append(assd(p == k, g == k, pixel_mm) if (p == k).any() else worst)
    return float(np.mean(values)) if values else float("nan")

"""Scoring with :mod:`zmic_lessons.core.metrics`: Dice per structure on held-out slices.

Dice is pooled over the slices of a set (every held-out slice's pixels count once, as a 3D
Dice over a stack would), per structure (LV, myocardium, RV), and averaged over the three.
Padding (``valid == False``) is left out of both maps. No training here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.metrics import dice_per_class
from .slices import FOREGROUND, SliceSet


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch: int = 16):
    """Softmax ``(N, K, H, W)`` of ``images`` ``(N, 1, H, W)`` (model in eval mode, on CPU)."""
    was_training = model.training
    model.eval()
    out = [
        model(images[i : i + batch].to(device)).softmax(dim=1).cpu()
        for i in range(0, images.shape[0], batch)
    ]
    model.train(was_training)
    return torch.cat(out)


def dice_scores(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """Pooled Dice of LV, myocardium and RV, and their ``mean``, over the valid pixels.

    Args:
        pred, truth: ``(N, H, W)`` integer label maps; valid: ``(N, H, W)`` bool.

    Returns:
        ``{"lv": ..., "myo": ..., "rv": ..., "mean": ...}``.
    """
    pred = np.where(valid, pred, 0)
    truth = np.where(valid, truth, 0)
    scores = dice_per_class(pred, truth, FOREGROUND)
    scores["mean"] = float(np.mean([scores[k] for k in FOREGROUND]))
    return scores


def lv_confusion(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """Where the true LV pixels go: the share predicted as each class (sums to 1).

    Scribble-trained networks can take the LV blood pool for RV blood (same signal; only the
    myocardial ring around it tells them apart), which this measures.

    Returns:
        ``{"background": ..., "lv": ..., "myo": ..., "rv": ...}``.
    """
    lv = (truth == FOREGROUND["lv"]) & valid
    total = max(int(lv.sum()), 1)
    names = {"background": 0, **FOREGROUND}
    return {name: float(((pred == k) & lv).sum()) / total for name, k in names.items()}


def evaluate(model: nn.Module, slices: SliceSet, device: torch.device) -> dict[str, float]:
    """Dice scores of ``model`` on a labelled :class:`.SliceSet`."""
    if slices.labels is None:
        raise ValueError("evaluate: these slices have no dense labels")
    pred = predict(model, slices.images, device).argmax(dim=1).numpy()
    truth, valid = slices.labels.numpy(), slices.valid.numpy()
    scores = dice_scores(pred, truth, valid)
    confusion = lv_confusion(pred, truth, valid)
    scores["lv_as_rv"], scores["lv_as_myo"] = confusion["rv"], confusion["myo"]
    scores["lv_as_background"] = confusion["background"]
    return scores


def mean_dice(model: nn.Module, slices: SliceSet, device: torch.device) -> float:
    """Mean Dice over LV, myocardium and RV (the training curves' validation score)."""
    return evaluate(model, slices, device)["mean"]

"""The adversarial baseline: implicit alignment of segmentation features with a domain
discriminator and gradient reversal (the "implicit" side of the talk's comparison)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import UNet
from .losses import balanced_cross_entropy
from .networks import Discriminator, gradient_reversal

__all__ = ["AdversarialSeg", "adversarial_loss"]


class AdversarialSeg(nn.Module):
    """A U-Net segmenter and a discriminator on its last decoder features."""

    def __init__(self, n_classes: int, features: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        self.segmenter = UNet(2, 1, n_classes, features)
        self.discriminator = Discriminator(features[0], features[0])

    def forward(self, x: Tensor) -> Tensor:
        """Segmentation logits ``(N, K, H, W)``."""
        return self.segmenter(x)


def adversarial_loss(
    model: AdversarialSeg, xs: Tensor, ys: Tensor, xt: Tensor, *, weight: float
) -> tuple[Tensor, dict[str, Tensor]]:
    """Source CE plus the discriminator's domain loss through a gradient reversal layer.

    The discriminator minimises its binary cross-entropy (source 1, target 0); the reversed
    gradient makes the segmenter's features maximise it, i.e. become indistinguishable.

    Returns:
        ``(loss, parts)`` with ``seg`` and ``domain`` (the discriminator's loss).
    """
    logits, feats = model.segmenter(torch.cat([xs, xt]), return_features=True)
    n = xs.shape[0]
    h = feats["decoder"][-1]
    d = model.discriminator(gradient_reversal(h, weight))
    target = torch.zeros_like(d)
    target[:n] = 1.0
    parts = {
        "seg": balanced_cross_entropy(logits[:n], ys),
        "domain": F.binary_cross_entropy_with_logits(d, target),
    }
    return parts["seg"] + parts["domain"], parts

"""Data and training of the chapter: centres, the common grid, the three intensity schemes.

One function, :func:`to_grid`, turns a volume (phantom or LAScarQS file) into the chapter's
input: resampled to ``Settings.grid_spacing_mm`` and cut to ``Settings.grid_shape`` around the
**image centre**. :func:`standardise` applies an intensity scheme (``"none"``: z-score only;
``"hm"``: z-score then histogram matching to one fixed reference; the ``"aug"`` scheme z-scores
like ``"none"`` and restyles training batches at random). Every network is trained by
:func:`zmic_lessons.core.training.fit` on 2D axial slices with two sigmoid heads (LA cavity and
scar, as AtrialJSQnet's two decoders share one encoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.training import History, fit
from ..data.atrial import LA_BLOOD, LA_SCAR, simulate_atrium
from ..nn.unet import UNet
from .augment import random_style
from .deeplab import MiniDeepLab
from .harmonise import centre_roi, histogram_match, resample_to, zscore
from .settings import Settings

__all__ = [
    "SCHEMES",
    "Volume",
    "build_model",
    "phantom_volumes",
    "predict",
    "real_volumes",
    "slices",
    "standardise",
    "to_grid",
    "train",
]

SCHEMES = ("none", "hm", "aug")


@dataclass
class Volume:
    """One case on the common grid.

    Attributes:
        image: ``float32 (Z, Y, X)`` as acquired (before any standardisation).
        la: ``bool (Z, Y, X)`` LA cavity.
        scar: ``bool (Z, Y, X)`` scar.
        spacing: ``(z, y, x)`` mm of the grid.
        centre: Centre (hospital) name.
        name: Case name.
    """

    image: np.ndarray
    la: np.ndarray
    scar: np.ndarray
    spacing: tuple[float, float, float]
    centre: str
    name: str


def to_grid(
    image: np.ndarray, labels: np.ndarray, spacing: tuple[float, ...], settings: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Resample to the grid spacing and cut the grid shape around the image centre.

    Args:
        image: ``(Z, Y, X)`` intensities.
        labels: ``(Z, Y, X)`` label map (``data.atrial`` codes).
        spacing: Voxel size of both (mm).
        settings: ``grid_spacing_mm`` and ``grid_shape``.

    Returns:
        ``(image, labels)`` on the grid. The ROI depends on the array size only.
    """
    img = resample_to(image.astype(np.float32), spacing, settings.grid_spacing_mm, order=1)
    lab = resample_to(labels, spacing, settings.grid_spacing_mm, order=0)
    fill = float(np.percentile(img, 1))
    return centre_roi(img, settings.grid_shape, fill), centre_roi(lab, settings.grid_shape, 0)


def _case_seed(seed: int, centre_index: int, i: int) -> int:
    return 100_000 * seed + 1000 * centre_index + i


def phantom_volumes(settings: Settings, seed: int) -> dict[str, list[Volume]]:
    """Simulate ``n_train + n_test`` patients per centre (different patients in each centre).

    Returns:
        Centre name -> volumes; the first ``n_train`` of a seen centre are for training.
    """
    out: dict[str, list[Volume]] = {}
    names = (*settings.seen_centres, settings.unseen_centre)
    for c, name in enumerate(names):
        out[name] = []
        for i in range(settings.n_train + settings.n_test):
            case = simulate_atrium(
                _case_seed(seed, c, i),
                shape=settings.grid_shape,
                spacing_mm=settings.grid_spacing_mm,
                centre=name,
            )
            image, labels = to_grid(case.image, case.labels, case.spacing, settings)
            out[name].append(_volume(image, labels, settings, name, f"{name}{i}"))
    return out


def _volume(image: np.ndarray, labels: np.ndarray, settings: Settings, centre: str, name: str):
    spacing = tuple(float(s) for s in settings.grid_spacing_mm)
    return Volume(image, labels == LA_BLOOD, labels == LA_SCAR, spacing, centre, name)  # type: ignore[arg-type]


def real_volumes(settings: Settings, data: Path) -> dict[str, list[Volume]]:
    """LAScarQS 2022 through ``data.datasets.LAScarQS``: task 1 as the seen "centre".

    The loader gives no centre per case, so the split is by task: task-1 cases (LA + scar)
    are the seen data (the first ``n_train`` train, the next ``n_test`` test); task-2 cases
    (cavity only, when present) are the other set, reported as "unseen" although they may come
    from the same hospitals.
    """
    from ..data.datasets import LAScarQS

    out: dict[str, list[Volume]] = {}
    sets = [("task1", 1, settings.n_train + settings.n_test)]
    if (Path(data) / "task2").is_dir():
        sets.append(("task2", 2, settings.n_test))
    for name, task, count in sets:
        dataset = LAScarQS(data, task=task)
        out[name] = []
        for case in list(dataset)[:count]:
            image, labels = to_grid(
                case.images["lge"], case.labels["lge"], case.spacing["lge"], settings
            )
            out[name].append(_volume(image, labels, settings, name, case.name))
    return out


def standardise(volume: Volume, scheme: str, reference: np.ndarray | None) -> np.ndarray:
    """The network input of a volume under a scheme.

    Args:
        volume: The case.
        scheme: ``"none"`` or ``"aug"`` (z-score), ``"hm"`` (z-score, then match to
            ``reference``).
        reference: The z-scored reference volume (``"hm"`` only).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    z = zscore(volume.image)
    if scheme != "hm":
        return z
    if reference is None:
        raise ValueError("scheme 'hm' needs the z-scored reference volume")
    return histogram_match(z, reference)


def slices(images: list[np.ndarray], volumes: list[Volume]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack the axial slices: ``x (S, 1, Y, X)`` and targets ``y (S, 2, Y, X)`` (LA, scar)."""
    x = np.concatenate([im[:, None] for im in images])
    y = np.concatenate([np.stack([v.la, v.scar], axis=1) for v in volumes]).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def build_model(kind: str, settings: Settings) -> nn.Module:
    """``"unet"`` (the shared :class:`~zmic_lessons.nn.UNet`) or ``"deeplab"``, two logits."""
    if kind == "unet":
        return UNet(2, in_channels=1, out_channels=2, features=settings.features)
    if kind == "deeplab":
        f = settings.features
        return MiniDeepLab(1, 2, features=(*f[:3], f[-1]) if len(f) >= 4 else (*f, 2 * f[-1]))
    raise ValueError(f"unknown network {kind!r}; choose 'unet' or 'deeplab'")


def _soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1.0 - (2.0 * inter + 1.0) / (p.sum() + target.sum() + 1.0)


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, scar_weight: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """BCE + soft Dice for the LA head, the same (scaled by ``scar_weight``) for the scar head.

    Args:
        logits: ``(N, 2, H, W)``; target: ``(N, 2, H, W)`` in {0, 1}.
    """
    la = F.binary_cross_entropy_with_logits(logits[:, 0], target[:, 0])
    la = la + _soft_dice_loss(logits[:, 0], target[:, 0])
    scar = F.binary_cross_entropy_with_logits(logits[:, 1], target[:, 1])
    scar = scar + _soft_dice_loss(logits[:, 1], target[:, 1])
    return la + scar_weight * scar, {"loss_la": la.detach(), "loss_scar": scar.detach()}


def train(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    settings: Settings,
    *,
    seed: int,
    augment: bool,
    device: torch.device,
    checkpoints: dict[str, Any] | None = None,
) -> History:
    """Train on random batches of slices with :func:`~zmic_lessons.core.training.fit`.

    Args:
        model: The network (two logit channels).
        data: ``(x, y)`` from :func:`slices`.
        settings: ``steps``, ``batch_size``, ``lr``, ``scar_weight`` and the ``aug_*`` ranges.
        seed: Seeds the batch order and the augmentation.
        augment: Restyle every batch with :func:`~.augment.random_style` (the ``"aug"`` scheme).
        device: Where to train.
        checkpoints: ``fit``'s checkpoint keywords (from
            :func:`~zmic_lessons.core.training.checkpointing`; ``None``: no checkpoints).
    """
    x, y = data
    gen = torch.Generator().manual_seed(seed)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        del step
        idx = torch.randint(0, x.shape[0], (settings.batch_size,), generator=gen)
        xb, yb = x[idx], y[idx]
        flip = torch.rand(1, generator=gen).item() < 0.5
        if flip:
            xb, yb = xb.flip(-1), yb.flip(-1)
        if augment:
            xb = random_style(xb, gen, settings.aug_gamma, settings.aug_bias, settings.aug_noise)
        return xb, yb

    def loss_fn(net: nn.Module, b: tuple[torch.Tensor, torch.Tensor]):
        return segmentation_loss(net(b[0]), b[1], settings.scar_weight)

    return fit(
        model, loss_fn, batch, steps=settings.steps, lr=settings.lr, device=device, seed=seed,
        progress=False, desc="atrial", **(checkpoints or {}),
    )  # fmt: skip


@torch.no_grad()
def predict(model: nn.Module, image: np.ndarray, batch: int = 64) -> np.ndarray:
    """Sigmoid probabilities ``(2, Z, Y, X)`` (LA, scar) of a standardised volume.

    Only the image goes in: no label, no ROI from a label.
    """
    model.eval()
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image[:, None], dtype=np.float32))
    outs = [
        torch.sigmoid(model(x[i : i + batch].to(device))).cpu() for i in range(0, len(x), batch)
    ]
    return torch.cat(outs).permute(1, 0, 2, 3).numpy()

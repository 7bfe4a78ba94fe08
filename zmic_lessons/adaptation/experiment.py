"""Build the tasks (phantom or real files) and train each method with ``core.training.fit``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..core.training import History, checkpointing, fit
from ..nn import UNet
from .adversarial import AdversarialSeg, adversarial_loss
from .cfdnet import CFDNet, cfdnet_loss
from .losses import balanced_cross_entropy
from .settings import METHODS, Settings
from .tasks import AdaptationTask, DomainSet, phantom_task, real_task
from .varda import VarDA, varda_loss

__all__ = ["Trained", "batch_source", "build_task", "make_method", "train_method"]

Batch = tuple[Tensor, Tensor, Tensor]


@dataclass
class Trained:
    """A trained method: the model (eval mode), its training history and wall time (s)."""

    name: str
    model: nn.Module
    history: History
    seconds: float


def build_task(
    settings: Settings, name: str, seed: int, data: Path | None = None
) -> AdaptationTask:
    """The one place that turns Settings into a task, for the phantom (``data=None``) and the
    real files (``data``: a folder holding MS-CMRSeg and/or CFDNet's MM-WHS 2D slices)."""
    if data is None:
        return phantom_task(
            name, n_train=settings.n_train, n_test=settings.n_test, size=settings.size,
            pixel_mm=settings.pixel_mm, seed=seed, jitter=settings.jitter,
        )  # fmt: skip
    return real_task(name, data, size=settings.size, pixel_mm=settings.pixel_mm)


def _draw(data: DomainSet, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    idx = torch.randint(0, len(data), (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    images, labels = data.images[idx], data.labels[idx]
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    labels = torch.where(flip[:, None, None], labels.flip(-1), labels)
    return images, labels


def batch_source(
    source: DomainSet, target: DomainSet, batch: int, seed: int
) -> Callable[[int], Batch]:
    """``step -> (xs (B,1,S,S), ys (B,S,S), xt (B,1,S,S))``, drawn with replacement, random
    left-right flips, from one seeded generator (so a resumed run replays the same batches)."""
    generator = torch.Generator().manual_seed(seed)

    def draw(step: int) -> Batch:
        del step
        xs, ys = _draw(source, batch, generator)
        xt, _ = _draw(target, batch, generator)
        return xs, ys, xt

    return draw


def make_method(
    name: str, n_classes: int, settings: Settings
) -> tuple[nn.Module, Callable[[nn.Module, Batch], Any]]:
    """The model and ``loss_fn(model, (xs, ys, xt))`` of one of :data:`.METHODS`."""
    s = settings
    f = s.features
    weights = {"seg": s.seg_weight, "kl": s.kl_weight, "rec": s.rec_weight, "cf": s.cf_weight,
               "mean": s.mean_weight, "alpha": s.varda_alpha}  # fmt: skip
    align = {"pool": s.pool, "per_pixel": s.align_per_pixel}
    if name in ("source_only", "target_supervised"):
        return UNet(2, 1, n_classes, f), lambda m, b: balanced_cross_entropy(m(b[0]), b[1])
    if name == "adversarial":
        return AdversarialSeg(n_classes, f), lambda m, b: adversarial_loss(
            m, *b, weight=s.adv_weight
        )
    if name == "cfdnet":
        return CFDNet(n_classes, f, s.latent), lambda m, b: cfdnet_loss(
            m, *b, weights=weights, t_max=s.cf_t_max, **align
        )
    if name in ("varda", "varda_beta0"):
        beta = s.varda_beta if name == "varda" else 0.0
        return VarDA(n_classes, f, s.latent), lambda m, b: varda_loss(
            m, *b, beta=beta, weights=weights, **align
        )
    raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")


def train_method(
    name: str,
    task: AdaptationTask,
    settings: Settings,
    seed: int,
    device: torch.device | str = "cpu",
    out: Path | None = None,
    *,
    resume: bool = False,
) -> Trained:
    """Train one method on a task and return it in eval mode.

    ``target_supervised`` trains the plain U-Net on the *target* training labels (the upper
    bound); every other method sees source labels and unlabelled target images only. With
    ``out``, ``fit`` checkpoints the model in ``out/checkpoints/<task>_<method>`` four times over
    the run (``resume``: continue from there; a complete checkpoint is not trained again).
    """
    torch.manual_seed(seed)
    model, loss_fn = make_method(name, task.n_classes, settings)
    source = task.target_train if name == "target_supervised" else task.source_train
    batches = batch_source(source, task.target_train, settings.batch, seed)
    start = time.perf_counter()
    history = fit(
        model, loss_fn, batches, steps=settings.steps, lr=settings.lr, device=device,
        progress=False, desc=f"{task.name}:{name}", seed=seed,
        **checkpointing(out, f"{task.name}_{name}", resume=resume, config=settings,
                        every=max(1, settings.steps // 4)),
    )  # fmt: skip
    model.eval()
    return Trained(name, model, history, time.perf_counter() - start)

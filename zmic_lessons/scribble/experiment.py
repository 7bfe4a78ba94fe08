"""The scribble chapter's experiment: slices, batches, and training each method with ``fit``.

:func:`make_experiment` turns :class:`.Settings` into the experiment for both paths: phantom
short-axis slices with synthetic scribbles, or the real ACDC / MSCMRseg (CycleMix layout)
files under ``data``, read by :mod:`zmic_lessons.data.datasets`. Both paths end in the same
:class:`SliceSet` windows, so training and evaluation never know where the slices came from.

Padding is never supervised: a window that reaches past the image is filled with zeros in the
image and with :data:`UNLABELLED` in the scribbles, and ``valid`` marks the real pixels (the
reference pads labels with its background code, so padding became background supervision).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.ops import one_hot
from ..core.training import History, checkpointing, fit
from ..data.cardiac import simulate_case
from ..data.errors import DataError
from ..data.labels import LV, MYO, RV, merge_pathology
from ..data.scribbles import UNLABELLED, scribbles_from_labels
from ..nn import UNet
from .cyclemix import CycleMixConfig, CycleMixDraw, cyclemix_step, scribble_one_hot
from .evaluation import mean_dice
from .real import real_experiment
from .settings import METHODS, Settings
from .slices import (
    N_CLASSES,
    Experiment,
    SliceSet,
    heart_centre,
    make_slices,
)

_SPLIT_OFFSET = {"train": 0, "val": 50_000, "test": 70_000}


def method_config(method: str, settings: Settings) -> CycleMixConfig:
    """The CycleMix switches of a method (``full`` and ``pce``: every switch off)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    on = {
        "mix": "mix" in method or method == "cyclemix",
        "occlusion": "occ" in method or method == "cyclemix",
        "global_": "glob" in method or method == "cyclemix",
        "local": method == "cyclemix",
    }
    return CycleMixConfig(
        **on, w_cut=settings.w_cut, w_global=settings.w_global, w_local=settings.w_local,
        normalise=settings.pce_normalise,
    )  # fmt: skip


# ------------------------------------------------------------------------- windows


# ------------------------------------------------------------------------- phantom


def phantom_slices(settings: Settings, seed: int, split: str, n: int, size: int) -> SliceSet:
    """``n`` phantom slices (one mid-ventricular slice per case) with synthetic scribbles."""
    images, labels, scribbles, centres, names = [], [], [], [], []
    for i in range(n):
        case_seed = seed * 100_003 + _SPLIT_OFFSET[split] + i
        case = simulate_case(case_seed, size=settings.phantom_size, pixel_mm=settings.pixel_mm)
        lab = merge_pathology(case.labels[0])
        images.append(np.asarray(case.images[settings.sequence][0], np.float32))
        labels.append(lab)
        scribbles.append(scribbles_from_labels(lab, case_seed, classes=(0, LV, MYO, RV)))
        centres.append(heart_centre(lab))
        names.append(f"phantom {split} {i}")
    return make_slices(images, labels, scribbles, centres, size, names)


def phantom_experiment(settings: Settings, seed: int) -> Experiment:
    """Phantom train / validation / test slices of ``settings.sequence``."""
    if settings.sequence not in ("lge", "bssfp", "t2"):
        raise ValueError(f"sequence must be 'lge' or 'bssfp', got {settings.sequence!r}")
    wide = settings.crop + 2 * settings.jitter
    return Experiment(
        train=phantom_slices(settings, seed, "train", settings.n_train, wide),
        val=phantom_slices(settings, seed, "val", settings.n_val, settings.crop),
        test=phantom_slices(settings, seed, "test", settings.n_test, settings.crop),
        source=f"phantom {settings.sequence}",
    )


def make_experiment(settings: Settings, seed: int, data: Path | None = None) -> Experiment:
    """The experiment for ``settings``: phantom slices, or the real files under ``data``."""
    if data is None:
        return phantom_experiment(settings, seed)
    return real_experiment(settings, Path(data))


# ------------------------------------------------------------------------- batches


def _turn(arr: np.ndarray, k: int, flip: bool) -> np.ndarray:
    arr = np.rot90(arr, k, axes=(-2, -1))
    return np.ascontiguousarray(arr[..., ::-1] if flip else arr)


class BatchSampler:
    """``step -> batch``: random training windows with their targets and the step's draws.

    Every random choice comes from ``numpy.random.default_rng([seed, step])``, so a step's
    batch is the same in a resumed run.
    """

    def __init__(self, train: SliceSet, settings: Settings, seed: int, dense: bool) -> None:
        if dense and train.labels is None:
            raise DataError("full supervision needs dense labels for the training slices")
        if not dense and train.scribbles is None:
            raise DataError("scribble training needs scribbles for the training slices")
        self.train, self.s, self.seed, self.dense = train, settings, seed, dense

    def _target(self, idx: np.ndarray) -> torch.Tensor:
        if self.dense:
            lab = self.train.labels[idx]
            return one_hot(lab, N_CLASSES) * self.train.valid[idx, None].float()
        return scribble_one_hot(self.train.scribbles[idx], N_CLASSES, UNLABELLED)

    def __call__(self, step: int) -> dict[str, object]:
        s, rng = self.s, np.random.default_rng([self.seed, step])
        n = len(self.train)
        idx = rng.choice(n, size=s.batch, replace=s.batch > n)
        x, y = self.train.images[idx].numpy(), self._target(idx).numpy()
        offsets = rng.integers(0, 2 * s.jitter + 1, size=(s.batch, 2))
        xs, ys = [], []
        for j in range(s.batch):
            r, c = offsets[j]
            xj, yj = (
                x[j, :, r : r + s.crop, c : c + s.crop],
                y[j, :, r : r + s.crop, c : c + s.crop],
            )
            if s.augment:
                k, flip = int(rng.integers(4)), bool(rng.integers(2))
                xj, yj = _turn(xj, k, flip), _turn(yj, k, flip)
            xs.append(xj)
            ys.append(yj)
        draw = CycleMixDraw(
            perm=torch.from_numpy(rng.permutation(s.batch)),
            lam=torch.from_numpy(rng.beta(s.mix_alpha, s.mix_alpha, size=s.batch)).float(),
            blocks=2 ** int(rng.choice(s.mix_levels)),
            centres=torch.from_numpy(rng.integers(0, s.crop, size=(s.batch, 2))),
            hole=max(1, int(round(s.hole_frac * s.crop))),
        )
        return {"x": torch.from_numpy(np.stack(xs)), "y": torch.from_numpy(np.stack(ys)),
                "draw": draw}  # fmt: skip


# ------------------------------------------------------------------------- training


@dataclass
class TrainedModel:
    """A trained network and what ``fit`` logged (``loss``, each term, ``val_dice``)."""

    method: str
    model: UNet
    history: History


def build_model(settings: Settings, seed: int) -> UNet:
    """The shared U-Net, initialised from ``seed`` (the same start for every method)."""
    torch.manual_seed(seed)
    return UNet(2, in_channels=1, out_channels=N_CLASSES, features=settings.features)


def make_scheduler(optimizer: torch.optim.Optimizer, settings: Settings):
    """The learning-rate schedule of ``settings.schedule`` (``None`` for a constant rate)."""
    if settings.schedule == "constant":
        return None
    if settings.schedule == "cosine":
        steps = max(settings.steps, 1)
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda t: 0.5 * (1.0 + float(np.cos(np.pi * min(t, steps) / steps)))
        )
    raise ValueError(f"schedule must be 'cosine' or 'constant', got {settings.schedule!r}")


def train_method(
    method: str,
    exp: Experiment,
    settings: Settings,
    seed: int,
    device: torch.device,
    out: Path | None = None,
    progress: bool = True,
    *,
    resume: bool = False,
) -> TrainedModel:
    """Train one method with the shared loop :func:`zmic_lessons.core.training.fit`.

    With ``out``, ``fit`` checkpoints the model in ``out/checkpoints/<method>`` four times over
    the run (``resume``: continue from there; a complete checkpoint is not trained again).
    """
    cfg = method_config(method, settings)
    sampler = BatchSampler(exp.train, settings, seed, dense=method == "full")
    model = build_model(settings, seed).to(device)

    def loss_fn(net, batch):
        step = cyclemix_step(net, batch["x"], batch["y"], batch["draw"], cfg)
        return step.loss, step.terms

    def eval_fn(net):
        return {"val_dice": mean_dice(net, exp.val, device)}

    optimizer = torch.optim.Adam(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    history = fit(
        model, loss_fn, sampler, steps=settings.steps, lr=settings.lr, device=device,
        optimizer=optimizer, scheduler=make_scheduler(optimizer, settings),
        eval_fn=eval_fn, eval_every=settings.eval_every, progress=progress, desc=method,
        seed=seed, **checkpointing(out, method, resume=resume, config=settings,
                                   every=max(1, settings.steps // 4)),
    )  # fmt: skip
    return TrainedModel(method, model, history)

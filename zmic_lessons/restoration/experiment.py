"""Data and training: patches of the training images, and each network trained by ``fit``.

One function (:func:`make_data`) turns :class:`.Settings` into the experiment's images for both
paths (the package's images, or the PNG/NIfTI files of a ``--data`` folder); the training
functions all go through the shared loop :func:`zmic_lessons.core.training.fit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..core.ops import gaussian_blur
from ..core.training import History, checkpointing, fit
from ..data.images import load_image
from .bayesr import BayeSR, Priors, bayesr_loss
from .degradation import add_noise, bicubic_upsample, downsample
from .images import read_image
from .ronet import RODec, RONet, residual_energy_loss
from .settings import Settings

__all__ = [
    "Checkpoints",
    "ExperimentData",
    "load_folder_images",
    "make_data",
    "degrade",
    "pair_batches",
    "patch_batches",
    "train_bayesr",
    "train_restorer",
    "train_rodec",
]


@dataclass
class ExperimentData:
    """Training and held-out images, ``float32 (H, W)`` in [0, 1], by name."""

    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray]


def load_folder_images(folder: Path) -> dict[str, np.ndarray]:
    """Every PNG and NIfTI (middle slice) in ``folder``, scaled to [0, 1], by file name."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".nii", ".gz"))
    if not files:
        raise FileNotFoundError(
            f"{folder}: no .png, .nii or .nii.gz images; put the training images there "
            "(and name the held-out ones with test_images=...)"
        )
    return {p.name: read_image(p)[0] for p in files}


def make_data(settings: Settings, data: Path | None = None) -> ExperimentData:
    """Load the training and test images named by ``settings`` (from ``data`` if given).

    With ``data``, the files named in ``settings.test_images`` are held out, every other
    image there is for training.
    """
    if data is None:
        train = {n: load_image(n) for n in settings.train_images}
        test = {n: load_image(n) for n in settings.test_images}
        return ExperimentData(train, test)
    images = load_folder_images(data)
    missing = [n for n in settings.test_images if n not in images]
    if missing:
        raise FileNotFoundError(
            f"{data}: held-out image(s) {missing} not found; set test_images= to file names "
            f"among {sorted(images)}"
        )
    test = {n: images.pop(n) for n in settings.test_images}
    if not images:
        raise ValueError(f"{data}: every image is held out; leave some for training")
    return ExperimentData(images, test)


def _crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if min(image.shape) < size:
        reps = (-(-size // image.shape[0]), -(-size // image.shape[1]))
        image = np.pad(
            image, [(0, (r - 1) * s) for r, s in zip(reps, image.shape, strict=True)], "reflect"
        )
    top = int(rng.integers(0, image.shape[0] - size + 1))
    left = int(rng.integers(0, image.shape[1] - size + 1))
    patch = image[top : top + size, left : left + size]
    patch = np.rot90(patch, int(rng.integers(0, 4)))
    return patch[:, ::-1] if rng.random() < 0.5 else patch


def patch_batches(
    images: dict[str, np.ndarray], size: int, batch: int, seed: int
) -> Callable[[int], Tensor]:
    """``step -> (batch, 1, size, size)`` random crops with flips and 90-degree rotations.

    Deterministic in ``(seed, step)``, so a resumed training sees the same batches.
    """
    pool = list(images.values())

    def make(step: int) -> Tensor:
        rng = np.random.default_rng([seed, step])
        picks = rng.integers(0, len(pool), size=batch)
        patches = [_crop(pool[int(i)], size, rng) for i in picks]
        return torch.from_numpy(np.ascontiguousarray(np.stack(patches)[:, None]))

    return make


def _schedule(opt: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Halve the learning rate at 60 % and 85 % of the steps."""
    marks = sorted({max(1, int(0.6 * steps)), max(1, int(0.85 * steps))})
    return torch.optim.lr_scheduler.MultiStepLR(opt, marks, gamma=0.5)


@dataclass(frozen=True)
class Checkpoints:
    """Where the networks of a run keep their ``fit`` checkpoints (the chapter contract).

    Attributes:
        out: The run's folder: each network checkpoints four times over its training in
            ``out/checkpoints/<model>`` (``rodec``, ``ronet_sr``, ``plain_sr``, ``bayesr_sup``,
            ...); ``None``: no checkpoints.
        resume: Continue from an existing checkpoint (a complete one is not trained again).
        config: The settings the checkpoints were made from (others are refused).
    """

    out: Path | None = None
    resume: bool = False
    config: Any = None

    def fit_keywords(self, model_name: str, steps: int) -> dict[str, Any]:
        """``fit``'s checkpoint keywords for ``model_name`` trained ``steps`` steps."""
        every = max(1, steps // 4)
        return checkpointing(
            self.out, model_name, resume=self.resume, config=self.config, every=every
        )


@dataclass(frozen=True)
class _Run:
    """Where and how one network trains: seed, device, checkpoints, name (progress label)."""

    seed: int
    device: torch.device
    checkpoints: Checkpoints | None
    desc: str


def _fit(
    model: torch.nn.Module, loss_fn: Callable, batches: Callable, steps: int, lr: float, run: _Run
) -> History:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    checkpoints = run.checkpoints or Checkpoints()
    return fit(
        model, loss_fn, batches, steps=steps, optimizer=opt, scheduler=_schedule(opt, steps),
        device=run.device, grad_clip=1.0, seed=run.seed, desc=run.desc, progress=False,
        **checkpoints.fit_keywords(run.desc, steps),
    )  # fmt: skip


def _rodec_loss(model: RODec, batch: Tensor, every_step: bool) -> Tensor:
    return residual_energy_loss(model, batch, every_step)


def train_rodec(
    settings: Settings, data: ExperimentData, seed: int, device: torch.device,
    checkpoints: Checkpoints | None = None,
) -> tuple[RODec, History]:  # fmt: skip
    """Pretrain the K rank-one projections without labels: minimise the residual energy.

    The patches are those the SR network sees (LR size), so the decomposition fits its input.
    """
    torch.manual_seed(seed)
    dec = RODec(settings.n_components, width=settings.projection_width, ls_scale=settings.ls_scale)
    size = max(8, settings.patch // settings.scale)
    batches = patch_batches(data.train, size, settings.batch, seed + 11)
    history = _fit(
        dec, partial(_rodec_loss, every_step=settings.rodec_every_step), batches,
        settings.rodec_steps, settings.lr, _Run(seed, device, checkpoints, "rodec"),
    )  # fmt: skip
    dec.eval().requires_grad_(False)
    return dec, history


def degrade(hr: Tensor, task: str, settings: Settings, noise_seed: int = 0) -> Tensor:
    """The input of ``task`` for clean images ``hr (N, 1, H, W)``: ``D(hr)`` or ``hr + noise``."""
    if task == "sr":
        return downsample(hr, settings.scale, settings.blur_sigma)
    if task == "denoise":
        gen = torch.Generator().manual_seed(int(noise_seed))
        return add_noise(hr, settings.noise_sigma / 255.0, gen)
    raise ValueError(f"task must be 'sr' or 'denoise', got {task!r}")


def pair_batches(
    settings: Settings, data: ExperimentData, task: str, seed: int
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """``step -> (degraded input, clean HR patch)``, deterministic in ``(seed, step)``."""
    patches = patch_batches(data.train, settings.patch, settings.batch, seed)

    def make(step: int) -> tuple[Tensor, Tensor]:
        hr = patches(step)
        return degrade(hr, task, settings, noise_seed=seed * 1_000_003 + step), hr

    return make


def _restorer_loss(
    model: RONet, batch: tuple[Tensor, Tensor], *, task: str, settings: Settings
) -> tuple[Tensor, dict[str, Tensor]]:
    y, hr = batch
    out = model(y)
    if task == "denoise":
        loss = torch.nn.functional.mse_loss(out.image, hr)
        return loss, {"mse": loss.detach()}
    rec = torch.nn.functional.l1_loss(out.image, hr)
    if model.decomposition is None or settings.aux_weight <= 0:
        return rec, {"l1": rec.detach()}
    with torch.no_grad():
        parts, res_target = model.decomposition(hr, model.n_components)
    aux = torch.nn.functional.l1_loss(out.ro_branch, parts.sum(1)) + torch.nn.functional.l1_loss(
        out.residual_branch, res_target
    )
    lam = settings.aux_weight
    return lam * aux + (1 - lam) * rec, {"l1": rec.detach(), "aux": aux.detach()}


def build_restorer(settings: Settings, task: str, decomposition: RODec | None) -> RONet:
    """RONet (with ``decomposition``) or the plain CNN of the same size (``None``)."""
    sr = task == "sr"
    return RONet(
        decomposition,
        scale=settings.scale if sr else 1,
        n_components=settings.sr_components if sr else settings.denoise_components,
        width=settings.width,
        blocks=settings.blocks,
        deep_scale=1 if sr else settings.denoise_deep_scale,
    )


def train_restorer(
    settings: Settings, data: ExperimentData, task: str, decomposition: RODec | None,
    seed: int, device: torch.device, checkpoints: Checkpoints | None = None,
) -> tuple[RONet, History]:  # fmt: skip
    """Train RONet (``decomposition`` given) or the plain CNN (``None``) for ``task``.

    Both see the same batches and the same initial weights of the shared layers.
    """
    torch.manual_seed(seed + 1)
    model = build_restorer(settings, task, decomposition)
    steps = settings.sr_steps if task == "sr" else settings.denoise_steps
    batches = pair_batches(settings, data, task, seed + 23)
    loss = partial(_restorer_loss, task=task, settings=settings)
    name = ("ronet" if decomposition is not None else "plain") + f"_{task}"
    history = _fit(model, loss, batches, steps, settings.lr, _Run(seed, device, checkpoints, name))
    return model.eval(), history


def pseudo_hr(lr: Tensor, settings: Settings) -> Tensor:
    """The unsupervised mode's stand-in for HR: the LR image upsampled bicubically (and blurred)."""
    return gaussian_blur(bicubic_upsample(lr, settings.scale), settings.pseudo_blur)


def _bayesr_loss(
    model: BayeSR,
    batch: tuple[Tensor, Tensor],
    *,
    settings: Settings,
    priors: Priors,
    supervised: bool,
) -> tuple[Tensor, dict[str, Tensor]]:
    y, hr = batch
    if supervised:
        return bayesr_loss(y, model(y), model.downsample, priors, hr, settings.tau)
    # no HR at all: half the batch makes fake pairs (D(pseudo-HR), pseudo-HR), the other
    # half stays real LR images (ELBO only)
    half = max(1, y.shape[0] // 2)
    target = pseudo_hr(y[:half], settings)
    fake = downsample(target, settings.scale, settings.blur_sigma)
    both = torch.cat([fake, y[half:]])
    rows = slice(0, half)
    return bayesr_loss(both, model(both), model.downsample, priors, target, settings.tau, rows)


def build_bayesr(settings: Settings) -> BayeSR:
    """BayeSR with the chapter's known degradation ``D``."""
    d = partial(downsample, scale=settings.scale, blur_sigma=settings.blur_sigma)
    return BayeSR(d, settings.scale, settings.width, settings.bayesr_blocks)


def train_bayesr(
    settings: Settings, data: ExperimentData, supervised: bool, seed: int,
    device: torch.device, checkpoints: Checkpoints | None = None,
) -> tuple[BayeSR, History]:  # fmt: skip
    """Train BayeSR supervised (real HR targets) or unsupervised (LR images only).

    The unsupervised mode never sees an HR image: its targets are pseudo-HR images made from
    the LR ones (:func:`pseudo_hr`), and ``phi_n = 1e-5`` as in the paper.
    """
    torch.manual_seed(seed + 2)
    model = build_bayesr(settings)
    priors = Priors(phi_n=1e-3 if supervised else 1e-5)
    batches = pair_batches(settings, data, "sr", seed + 37)
    loss = partial(_bayesr_loss, settings=settings, priors=priors, supervised=supervised)
    name = "bayesr_" + ("sup" if supervised else "unsup")
    history = _fit(
        model,
        loss,
        batches,
        settings.sr_steps,
        settings.lr,
        _Run(seed, device, checkpoints, name),
    )
    return model.eval(), history

"""Chapter: deep decomposition and reconstruction (RONet, BayeSR) for SR and denoising.

``run(budget, device, seed, data, out)`` pretrains the rank-one decomposition (RODec) without
labels, trains RONet and the plain CNN of the same size for x``scale`` SR and sigma = 25
denoising, trains BayeSR supervised and unsupervised, and scores everything on held-out
real images against bicubic upsampling and the noisy input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.budget import select
from ..core.device import describe_device, get_device
from ..core.results import Results
from ..core.training import History
from ..nn.blocks import count_parameters
from .bayesr import BayeSR
from .evaluation import TestCase, lr_psnr, make_test_cases, predict, psnr_shaved, ssim_shaved
from .experiment import (
    Checkpoints,
    ExperimentData,
    make_data,
    train_bayesr,
    train_restorer,
    train_rodec,
)
from .lessons import residual_energies
from .restore import restore_file
from .ronet import RODec, RONet
from .settings import BUDGETS, Settings

__all__ = ["BUDGETS", "NAME", "TITLE", "Artifacts", "Settings", "restore_file", "run"]

NAME = "restoration"
TITLE = "Deep decomposition and reconstruction: RONet and Bayesian SR (BayeSR)"
SR_METHODS = ("bicubic", "plain_cnn", "ronet", "bayesr_sup", "bayesr_unsup")
DENOISE_METHODS = ("noisy", "plain_cnn_denoise", "ronet_denoise")


@dataclass
class Artifacts:
    """What the notebook draws (not written to JSON).

    Attributes:
        settings: The settings of the run.
        data: Training and held-out images.
        cases: The held-out test cases (HR crop, LR, noisy).
        rodec: The pretrained, frozen decomposition.
        models: Trained networks by method name (``ronet``, ``plain_cnn``, ``bayesr_sup``,
            ``bayesr_unsup``, ``ronet_denoise``, ``plain_cnn_denoise``).
        histories: Their training histories (and ``rodec``'s).
        outputs: ``outputs[method][i]``: the restored test image ``i`` (``(H, W)``), for the
            SR methods and the denoising ones (``noisy`` is the input).
    """

    settings: Settings
    data: ExperimentData
    cases: list[TestCase]
    rodec: RODec
    models: dict[str, RONet | BayeSR] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict)


def _train_all(
    settings: Settings, data: ExperimentData, seed: int, device: torch.device,
    ckpt: Checkpoints, results: Results,
) -> Artifacts:  # fmt: skip
    with results.timed("rodec"):
        rodec, hist = train_rodec(settings, data, seed, device, ckpt)
    art = Artifacts(settings, data, make_test_cases(data, settings, seed), rodec)
    art.histories["rodec"] = hist

    def restorer(task: str, dec: RODec | None) -> Any:
        return lambda: train_restorer(settings, data, task, dec, seed, device, ckpt)

    def bayesr(sup: bool) -> Any:
        return lambda: train_bayesr(settings, data, sup, seed, device, ckpt)

    jobs = {"ronet": restorer("sr", rodec), "plain_cnn": restorer("sr", None)}
    if settings.run_bayesr:
        jobs["bayesr_sup"] = bayesr(True)
        jobs["bayesr_unsup"] = bayesr(False)
    if settings.run_denoise:
        jobs["ronet_denoise"] = restorer("denoise", rodec)
        jobs["plain_cnn_denoise"] = restorer("denoise", None)
    for name, job in jobs.items():
        with results.timed(name):
            art.models[name], art.histories[name] = job()
    return art


def _score(art: Artifacts, device: torch.device, results: Results) -> None:
    s, m = art.settings, results.metrics
    for method in SR_METHODS:
        if method != "bicubic" and method not in art.models:
            continue
        model = "bicubic" if method == "bicubic" else art.models[method]
        outs = [predict(model, c.lr, s.scale, device) for c in art.cases]
        art.outputs[method] = outs
        m[f"psnr_{method}"] = _mean(
            psnr_shaved(o, c.hr, s.scale) for o, c in zip(outs, art.cases, strict=True)
        )
        m[f"ssim_{method}"] = _mean(
            ssim_shaved(o, c.hr, s.scale) for o, c in zip(outs, art.cases, strict=True)
        )
        m[f"lr_psnr_{method}"] = _mean(
            lr_psnr(o, c.lr, s) for o, c in zip(outs, art.cases, strict=True)
        )
    if not s.run_denoise:
        return
    for method in DENOISE_METHODS:
        model = art.models.get(method)
        outs = [c.noisy if model is None else predict(model, c.noisy, 1, device) for c in art.cases]
        art.outputs[method] = outs
        m[f"psnr_{method}"] = _mean(
            psnr_shaved(o, c.hr, 0) for o, c in zip(outs, art.cases, strict=True)
        )
        m[f"ssim_{method}"] = _mean(
            ssim_shaved(o, c.hr, 0) for o, c in zip(outs, art.cases, strict=True)
        )


def _mean(values: Any) -> float:
    return float(np.mean(list(values)))


def _decomposition_metrics(art: Artifacts, results: Results) -> None:
    """Residual energy after K projections over the SVD optimum, on the held-out LR images."""
    ratios, fractions = [], []
    for c in art.cases:
        ours, svd = residual_energies(art.rodec, c.lr)
        ratios.append(ours[-1] / svd[-1])
        fractions.append(ours[-1])
    results.metrics["rodec_residual_energy"] = _mean(fractions)
    results.metrics["rodec_over_svd_energy"] = _mean(ratios)
    for name in ("ronet", "bayesr_sup"):
        if name in art.models:
            results.metrics[f"n_params_{name}"] = float(count_parameters(art.models[name]))


def run(
    budget: str = "standard",
    device: torch.device | str | None = "auto",
    seed: int = 0,
    data: Path | None = None,
    out: Path | None = None,
    *,
    resume: bool = False,
    **overrides: Any,
) -> Results:
    """Run the chapter and return its metrics (means over the held-out test images).

    Metrics: ``psnr_{m}``, ``ssim_{m}`` and ``lr_psnr_{m}`` (LR consistency: ``D(output)``
    against the LR input) for ``m`` in ``bicubic``, ``plain_cnn``, ``ronet``, ``bayesr_sup``,
    ``bayesr_unsup`` (x``scale`` SR, border of ``scale`` pixels shaved); ``psnr_{m}`` and
    ``ssim_{m}`` for ``noisy``, ``plain_cnn_denoise``, ``ronet_denoise`` (sigma = 25 / 255);
    ``rodec_residual_energy`` (fraction of the LR images' energy left after K projections),
    ``rodec_over_svd_energy`` (that residual over the truncated-SVD optimum, >= 1),
    ``n_params_ronet`` (equal to the plain CNN's), ``n_params_bayesr_sup``. PSNR in dB and
    SSIM with data range 1 on [0, 1] images.

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: Torch device (or ``"auto"``).
        seed: Seed of the weights, patches and noise.
        data: A folder of PNG/NIfTI images to use instead of the packaged ones; the files
            named by ``test_images=`` are held out.
        out: If given, each network checkpoints in ``out/checkpoints/<model>`` (``rodec``,
            ``ronet_sr``, ``plain_sr``, ``bayesr_sup``, ``bayesr_unsup``, ``ronet_denoise``,
            ``plain_denoise``).
        resume: Continue each network from its checkpoint in ``out`` (complete ones are kept).
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    torch_device = get_device(device)
    results = Results(
        chapter=NAME, budget=budget, device=describe_device(torch_device), seed=seed,
        settings=settings, data=None if data is None else str(data),
    )  # fmt: skip
    with results.timed("data"):
        exp = make_data(settings, None if data is None else Path(data))
    ckpt = Checkpoints(out, resume, settings)
    art = _train_all(settings, exp, seed, torch_device, ckpt, results)
    with results.timed("evaluation"):
        _score(art, torch_device, results)
        _decomposition_metrics(art, results)
    results.artifacts = art
    return results

"""Chapter: learning from scribbles with CycleMix (Zhang & Zhuang, CVPR 2022).

``run(budget, device, seed, data, out)`` builds scribbled short-axis slices (phantom, or ACDC /
MSCMRseg under ``data``), trains the shared U-Net with partial cross-entropy (the baseline),
with CycleMix, and with full labels (the upper bound), optionally the cumulative ablation, and
scores every model on held-out slices.
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
from ..data.scribbles import UNLABELLED
from .evaluation import evaluate, predict
from .experiment import TrainedModel, make_experiment, train_method
from .settings import BUDGETS, METHODS, Settings
from .slices import CLASS_NAMES, Experiment

__all__ = ["BUDGETS", "METHODS", "TITLE", "Artifacts", "Settings", "run"]

NAME = "scribble"
TITLE = "Learning from scribbles: CycleMix (mix, occlusion, global and local consistency)"


@dataclass
class Artifacts:
    """What the notebook draws.

    Attributes:
        settings: The settings of the run.
        experiment: The slices (train windows, validation, test).
        models: Method -> trained network and its ``fit`` history.
        scores: Method -> Dice per structure, ``mean`` and the LV confusion on the test slices.
        predictions: Method -> ``(N, H, W)`` predicted labels of the test slices.
        class_names: Class index -> name.
    """

    settings: Settings
    experiment: Experiment
    models: dict[str, TrainedModel] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    class_names: tuple[str, ...] = CLASS_NAMES


def scribble_stats(exp: Experiment) -> dict[str, float]:
    """Share of the training pixels that carry a scribble, overall and per class.

    Returns:
        ``{"all": ..., "background": ..., "lv": ..., "myo": ..., "rv": ...}`` as fractions of
        the real (unpadded) pixels of the training windows.
    """
    scr, valid = exp.train.scribbles, exp.train.valid
    if scr is None:
        return {}
    total = float(valid.sum())
    stats = {"all": float(((scr != UNLABELLED) & valid).sum()) / total}
    for k, name in enumerate(CLASS_NAMES):
        stats[name] = float(((scr == k) & valid).sum()) / total
    return stats


def _methods(settings: Settings, exp: Experiment) -> tuple[str, ...]:
    # full supervision needs dense labels of the training slices (the MSCMRseg release has none)
    return tuple(m for m in settings.methods if m != "full" or exp.train.labels is not None)


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
    """Train and score the chapter's methods.

    Metrics (Dice pooled over the held-out slices; ``mean`` over LV, myocardium, RV):
    ``dice_pce``, ``dice_cyclemix``, ``dice_full`` and ``dice_<method>_{lv,myo,rv}`` for each
    trained method; with ``ablation=True`` also ``dice_mix``, ``dice_mix_occ``,
    ``dice_mix_occ_glob``. ``cyclemix_gain`` (``dice_cyclemix - dice_pce``),
    ``cyclemix_over_full`` (``dice_cyclemix / dice_full``), ``scribble_fraction`` (share of
    training pixels scribbled), ``scribble_fraction_<class>`` and
    ``dice_<method>_lv_as_{rv,myo,background}`` (share of the true LV pixels predicted as RV,
    myocardium, background).

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: Torch device (or ``"auto"``).
        seed: Seed of the phantom, the scribbles, the weights and the batches.
        data: An ACDC folder (with MAAG scribbles) or the CycleMix ``MSCMR_dataset`` folder.
        out: If given, checkpoints go to ``out/checkpoints/<method>`` (``pce``, ``cyclemix``,
            ``full``, ``mix``, ...).
        resume: Continue each method from its checkpoint in ``out`` (complete ones are kept).
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    device = get_device(device)
    results = Results(
        chapter=NAME, budget=budget, device=describe_device(device), seed=seed,
        settings=settings, data=None if data is None else str(data),
    )  # fmt: skip
    with results.timed("data"):
        exp = make_experiment(settings, seed, data)
    art = Artifacts(settings=settings, experiment=exp)
    for key, value in scribble_stats(exp).items():
        results.metrics["scribble_fraction" + ("" if key == "all" else f"_{key}")] = value
    for method in _methods(settings, exp):
        with results.timed(method):
            trained = train_method(method, exp, settings, seed, device, out, resume=resume)
        art.models[method] = trained
        art.scores[method] = evaluate(trained.model, exp.test, device)
        art.predictions[method] = predict(trained.model, exp.test.images, device).argmax(1).numpy()
        for key, value in art.scores[method].items():
            results.metrics[f"dice_{method}" + ("" if key == "mean" else f"_{key}")] = value
    m = results.metrics
    if "dice_cyclemix" in m and "dice_pce" in m:
        m["cyclemix_gain"] = m["dice_cyclemix"] - m["dice_pce"]
    if "dice_cyclemix" in m and "dice_full" in m:
        m["cyclemix_over_full"] = m["dice_cyclemix"] / max(m["dice_full"], 1e-9)
    results.artifacts = art
    return results

"""Notebook helpers: one CycleMix step taken apart, arrays for the figures, table rows.

No training loop and no viewer here: the arrays go to :mod:`zmic_lessons.viz`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch

from ..data.scribbles import UNLABELLED
from .cyclemix import CycleMixStep, cyclemix_step
from .experiment import BatchSampler, TrainedModel, method_config
from .settings import Settings
from .slices import SliceSet

#: Display names of scribble maps (0 = no label, drawn transparent; 4 = background scribble).
SCRIBBLE_NAMES: tuple[str, ...] = ("none", "lv", "myo", "rv", "background scribble")
#: Method -> row label of the tables.
METHOD_LABELS: dict[str, str] = {
    "pce": "pCE (scribbles only)",
    "mix": "+ mix",
    "mix_occ": "+ mix + occlusion",
    "mix_occ_glob": "+ mix + occlusion + global",
    "cyclemix": "CycleMix (+ local)",
    "full": "full supervision (upper bound)",
}


def scribble_display(scribbles: np.ndarray | torch.Tensor) -> np.ndarray:
    """Scribble codes -> display codes (:data:`SCRIBBLE_NAMES`): none 0, background 4."""
    s = np.asarray(scribbles).astype(np.int64)
    out = np.where(s == UNLABELLED, 0, s)
    return np.where(s == 0, 4, out).astype(np.uint8)


def soft_label_display(y: torch.Tensor) -> np.ndarray:
    """Soft one-hot ``(K, H, W)`` (all zeros = no label) -> display codes."""
    y = torch.as_tensor(y)
    lab = y.argmax(dim=0).numpy()
    lab = np.where(lab == 0, 4, lab)
    return np.where(y.sum(dim=0).numpy() > 0, lab, 0).astype(np.uint8)


def take_step_apart(
    model: torch.nn.Module, train: SliceSet, settings: Settings, seed: int, step: int = 0
) -> CycleMixStep:
    """One CycleMix step of ``model`` on the training batch of step ``step``.

    The network is copied (the step changes nothing) and left in training mode, as during
    training. ``maps`` gains ``image`` and ``label`` (the batch) and ``perm`` (the partners).

    Returns:
        The :class:`.CycleMixStep` (each term's value and per-pixel map).
    """
    batch = BatchSampler(train, settings, seed, dense=False)(step)
    net = copy.deepcopy(model).cpu().train()
    out = cyclemix_step(
        net, batch["x"], batch["y"], batch["draw"], method_config("cyclemix", settings)
    )
    out.maps.update(image=batch["x"], label=batch["y"], perm=batch["draw"].perm)
    return out


def step_panels(step: CycleMixStep, i: int) -> dict[str, np.ndarray]:
    """2D arrays of sample ``i`` of a step: inputs, masks, augmented pair, each loss map."""
    m = {k: v.detach().cpu() for k, v in step.maps.items()}
    j = int(m["perm"][i])
    return {
        "image": m["image"][i, 0].numpy(),
        "scribbles": soft_label_display(m["label"][i]),
        "partner": m["image"][j, 0].numpy(),
        "saliency": m["saliency"][i, 0].numpy(),
        "mix mask (1: own)": m["mask"][i, 0].numpy(),
        "mixed + occluded": m["image_aug"][i, 0].numpy(),
        "mixed scribbles": soft_label_display(m["label_aug"][i]),
        "pCE map": m["pce"][i].numpy(),
        "cut pCE map": m["cut"][i].numpy(),
        "global 1-cos": m["global"][i].numpy(),
        "local 1-cos": m["local"][i].numpy(),
        "prediction": m["probs"][i].argmax(0).numpy().astype(np.uint8),
    }


def mixed_frames(
    model: torch.nn.Module, train: SliceSet, settings: Settings, seed: int, n: int = 6
) -> tuple[list[dict], list[str]]:
    """Frames for :func:`zmic_lessons.viz.frames_figure`: the first sample of ``n`` steps.

    Each frame: the image, its partner, the mixed and occluded image, and the mixed scribbles.
    """
    frames, titles = [], []
    for s in range(n):
        p = step_panels(take_step_apart(model, train, settings, seed, step=s), 0)
        keys = ("image", "partner", "mixed + occluded", "mixed scribbles")
        frames.append({k: p[k] for k in keys})
        titles.append(f"step {s}")
    return frames, titles


def ablation_rows(metrics: Mapping[str, float]) -> list[tuple[str, float, float, float, float]]:
    """``(label, mean, lv, myo, rv)`` rows for the methods present in ``metrics``."""
    rows = []
    for method, label in METHOD_LABELS.items():
        if f"dice_{method}" in metrics:
            rows.append(
                (label, *(metrics[f"dice_{method}{p}"] for p in ("", "_lv", "_myo", "_rv")))
            )
    return rows


def curves(
    models: Mapping[str, TrainedModel], name: str = "val_dice"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Method -> ``(steps, values)`` of one logged series (``val_dice``, ``loss``, ``pce`` ...)."""
    return {m: t.history.series(name) for m, t in models.items() if name in t.history.names}

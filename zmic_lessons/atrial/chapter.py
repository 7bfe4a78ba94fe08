"""Chapter: the left atrium across hospitals (AtrialGeneral) and scar on the LA surface (LAScarQS).

``run(budget, device, seed, data, out)`` simulates four centres (three seen, one unseen), trains
a two-head 2D U-Net (LA cavity + scar) under three intensity schemes (z-score only, histogram
matching to one fixed reference, random style augmentation) and a second architecture (a small
DeepLab v3+) without either, and scores them per centre with the LAScarQS metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.budget import select
from ..core.device import describe_device, get_device
from ..core.results import Results
from ..core.training import History, checkpointing
from .evaluation import mean_over, score_model
from .experiment import Volume, build_model, phantom_volumes, real_volumes, slices, standardise
from .experiment import train as train_network
from .harmonise import zscore
from .settings import BUDGETS, Settings

__all__ = ["BUDGETS", "TITLE", "Artifacts", "Experiment", "Settings", "make_experiment", "run"]

TITLE = "The left atrium across hospitals: AtrialGeneral and LAScarQS scar on the surface"

#: (network, scheme) pairs the chapter trains; the first three are the talk's second table.
RUNS: tuple[tuple[str, str], ...] = (("unet", "none"), ("unet", "hm"), ("unet", "aug"))


@dataclass
class Experiment:
    """The chapter's data, for the phantom and for ``--data`` alike.

    Attributes:
        volumes: Centre -> volumes on the common grid.
        seen: Training centres.
        unseen: The held-out centre (``None`` when the data have none).
        train: Training volumes (the first ``n_train`` of every seen centre).
        tests: Centre -> test volumes (the rest of a seen centre; all of the unseen one).
        reference: The z-scored histogram-matching reference (one training volume).
    """

    volumes: dict[str, list[Volume]]
    seen: tuple[str, ...]
    unseen: str | None
    train: list[Volume]
    tests: dict[str, list[Volume]]
    reference: np.ndarray


@dataclass
class Artifacts:
    """What the notebook draws.

    Attributes:
        experiment: The data (:class:`Experiment`).
        models: ``"unet/none"``, ``"unet/hm"``, ``"unet/aug"``, ``"deeplab/none"`` -> network.
        histories: Same keys -> training history.
        scores: Same keys -> centre -> per-volume metric dicts.
    """

    experiment: Experiment
    models: dict[str, nn.Module] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    scores: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)


def make_experiment(settings: Settings, seed: int, data: Path | None = None) -> Experiment:
    """Settings -> the experiment's data: the phantom's four centres or LAScarQS files."""
    if data is None:
        volumes = phantom_volumes(settings, seed)
        seen, unseen = tuple(settings.seen_centres), settings.unseen_centre
        ref_centre, ref_index = settings.hm_reference_centre, settings.hm_reference_index
    else:
        volumes = real_volumes(settings, Path(data))
        seen, unseen = ("task1",), ("task2" if "task2" in volumes else None)
        ref_centre, ref_index = "task1", 0
    if ref_centre not in seen or not 0 <= ref_index < settings.n_train:
        raise ValueError(
            f"hm_reference_centre={ref_centre!r}, hm_reference_index={ref_index}: the reference "
            f"must be a training volume of a seen centre {seen} (index < n_train)"
        )
    train = [v for c in seen for v in volumes[c][: settings.n_train]]
    tests = {c: volumes[c][settings.n_train :] for c in seen}
    if unseen is not None:
        tests[unseen] = volumes[unseen]
    reference = zscore(volumes[ref_centre][ref_index].image)
    return Experiment(volumes, seen, unseen, train, tests, reference)


def train_one(
    exp: Experiment,
    settings: Settings,
    network: str,
    scheme: str,
    *,
    seed: int,
    device: torch.device,
    out: Path | None = None,
    resume: bool = False,
) -> tuple[nn.Module, History]:
    """Build and train one network under one intensity scheme on the training centres.

    With ``out``, ``fit`` checkpoints it in ``out/checkpoints/<network>_<scheme>`` four times
    over the run (``resume``: continue from there; a complete checkpoint is not trained again).
    """
    torch.manual_seed(seed)
    model = build_model(network, settings)
    data = slices([standardise(v, scheme, exp.reference) for v in exp.train], exp.train)
    ckpt = checkpointing(out, f"{network}_{scheme}", resume=resume, config=settings,
                         every=max(1, settings.steps // 4))  # fmt: skip
    history = train_network(
        model, data, settings, seed=seed, augment=scheme == "aug", device=device,
        checkpoints=ckpt,
    )  # fmt: skip
    return model, history


def _seen_mean(scores: dict[str, list[dict[str, float]]], seen: tuple[str, ...], key: str):
    return mean_over([s for c in seen for s in scores[c]], key)


def _metrics(exp: Experiment, scores: dict[str, dict[str, list[dict[str, float]]]], second: str):
    """The chapter's headline metrics (names documented in :func:`run`)."""
    m: dict[str, float] = {}
    base = scores["unet/none"]
    m["dice_seen"] = _seen_mean(base, exp.seen, "dice")
    for c in exp.tests:
        m[f"dice_{c}_baseline"] = mean_over(base[c], "dice")
    if exp.unseen is not None:
        u = exp.unseen
        for scheme, key in (("none", "baseline"), ("hm", "hm"), ("aug", "aug")):
            sc = scores[f"unet/{scheme}"]
            m[f"dice_unseen_{key}"] = mean_over(sc[u], "dice")
            m[f"dice_seen_{key}"] = _seen_mean(sc, exp.seen, "dice")
            m[f"hd95_unseen_{key}_mm"] = mean_over(sc[u], "hd95_mm")
            m[f"assd_unseen_{key}_mm"] = mean_over(sc[u], "assd_mm")
        if second != "none":
            m[f"{second}_dice_seen"] = _seen_mean(scores[f"{second}/none"], exp.seen, "dice")
            m[f"{second}_dice_unseen"] = mean_over(scores[f"{second}/none"][u], "dice")
    m["hd95_seen_mm"] = _seen_mean(base, exp.seen, "hd95_mm")
    m["assd_seen_mm"] = _seen_mean(base, exp.seen, "assd_mm")
    for key in ("dice", "gdice", "accuracy", "sensitivity", "specificity", "dice_volume"):
        m[f"scar_{key}"] = _seen_mean(base, exp.seen, f"scar_{key}")
    return m


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
    """Train on the seen centres, test on all four, return the metrics.

    Metrics (LA cavity Dice, distances in mm on the common grid, means over test volumes):
    ``dice_seen`` (U-Net, z-score only, the seen centres' test patients), ``dice_<C>_baseline``
    per centre, ``dice_unseen_{baseline,hm,aug}`` (the unseen centre under each scheme),
    ``dice_seen_{baseline,hm,aug}``, ``hd95_unseen_{baseline,hm,aug}_mm``,
    ``assd_unseen_{baseline,hm,aug}_mm``, ``hd95_seen_mm``, ``assd_seen_mm``,
    ``<second>_dice_seen`` / ``<second>_dice_unseen`` (the second architecture, z-score only),
    and the scar on the GT LA surface of the seen centres' test patients (baseline U-Net):
    ``scar_dice``, ``scar_gdice``, ``scar_accuracy``, ``scar_sensitivity``,
    ``scar_specificity``, and ``scar_dice_volume`` (voxel Dice without projection).

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: Torch device (or ``"auto"``).
        seed: Seed of the patients, the weights and the batches.
        data: A LAScarQS 2022 folder (``task1/`` and optionally ``task2/``) instead of the
            phantom: task 1 is the seen set, task 2 the "unseen" one.
        out: Checkpoints go to ``out/checkpoints/<network>_<scheme>`` (``unet_none``,
            ``unet_hm``, ``unet_aug``, ``<second>_none``).
        resume: Continue each network from its checkpoint in ``out`` (complete ones are kept).
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    device = get_device(device)
    results = Results(
        chapter="atrial", budget=budget, device=describe_device(device), seed=seed,
        settings=settings,
    )  # fmt: skip
    with results.timed("data"):
        exp = make_experiment(settings, seed, data)
    art = Artifacts(experiment=exp)
    runs = list(RUNS) + (
        [(settings.second_network, "none")] if settings.second_network != "none" else []
    )
    for network, scheme in runs:
        key = f"{network}/{scheme}"
        with results.timed(f"train_{network}_{scheme}"):
            model, history = train_one(
                exp, settings, network, scheme, seed=seed, device=device, out=out, resume=resume
            )
        with results.timed("evaluate"):
            art.scores[key] = score_model(model, exp.tests, scheme, exp.reference)
        art.models[key], art.histories[key] = model, history
    results.metrics.update(_metrics(exp, art.scores, settings.second_network))
    results.artifacts = art
    return results

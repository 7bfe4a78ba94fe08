"""Chapter: MvMM, one hidden label shared by bSSFP, T2 and LGE, with registration inside.

``run(budget, device, seed, data, out)`` builds a misaligned multi-sequence phantom stack,
fits the MvMM (EM + transform ascent on one likelihood), the baselines (each sequence alone
with the same atlas prior; MvMM without registration; generalized MvMM with T2 missing on
half the slices; a zero-filled T2 for contrast) and MvMM-RegNet, and returns the metrics.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..core.budget import select
from ..core.device import describe_device, get_device
from ..core.results import Results
from ..data.labels import SEQUENCES
from .evaluation import darkest_myocardial_mean, myo_dice, pathology_dice, residual_misalignment
from .experiment import Experiment, fit_experiment, make_experiment
from .optimise import MvMMFit
from .real_data import RealFit, fit_real
from .regnet_experiment import RegNetResult, run_regnet
from .settings import BUDGETS, Settings, snapshot_every

__all__ = ["BUDGETS", "TITLE", "Artifacts", "Settings", "run"]

TITLE = "MvMM: multivariate mixture model for multi-sequence cardiac MR (Q1-Q5)"


@dataclass
class Artifacts:
    """What the notebook reads from a run (``results.artifacts``); not written to JSON.

    Attributes:
        experiment: The phantom experiment (stack, atlas, ROI, fit configuration).
        fit: The MvMM on all three sequences, with registration.
        noreg: The same without registration.
        experiment_missing: The phantom with T2 on part of the slices only.
        generalized: The MvMM on it, T2 marginalised where missing.
        zero_filled: The same with the missing T2 slices as zeros.
        regnet: The MvMM-RegNet lesson (``None`` when ``run_regnet`` is off).
        real: The fit on real data (``data=`` runs only; then the phantom fields are ``None``).
    """

    experiment: Experiment | None = None
    fit: MvMMFit | None = None
    noreg: MvMMFit | None = None
    experiment_missing: Experiment | None = None
    generalized: MvMMFit | None = None
    zero_filled: MvMMFit | None = None
    regnet: RegNetResult | None = None
    real: RealFit | None = None


def _joint(exp: Experiment, settings: Settings, metrics: dict[str, float]) -> MvMMFit:
    """The MvMM on all sequences: common-space and per-sequence Dice, pathology, residual."""
    fit = fit_experiment(exp, snapshot_every=snapshot_every(settings))
    labels = exp.case.common_labels
    metrics["dice_myo_mvmm"] = myo_dice(labels, fit.segmentation)
    for i, name in enumerate(SEQUENCES):
        # the paper's comparison: each sequence's own segmentation, MvMM against that sequence
        seg = fit.segmentation_in_sequence(i)
        metrics[f"dice_myo_mvmm_{name}"] = myo_dice(exp.case.labels[name], seg)
    metrics["dice_scar"], metrics["dice_edema"] = pathology_dice(fit, labels)
    rms, angle = residual_misalignment(fit.transform, exp.case, exp.mask)
    metrics["residual_translation_px"], metrics["residual_rotation_deg"] = rms, angle
    return fit


def _baselines(exp: Experiment, metrics: dict[str, float]) -> MvMMFit:
    """No registration (whose transforms give the initial misalignment); each sequence alone."""
    noreg = fit_experiment(exp, register=False)
    metrics["dice_myo_noreg"] = myo_dice(exp.case.common_labels, noreg.segmentation)
    # the transforms stay at the identity: the misalignment registration starts from
    rms0, angle0 = residual_misalignment(noreg.transform, exp.case, exp.mask)
    metrics["initial_translation_px"], metrics["initial_rotation_deg"] = rms0, angle0
    for i, name in enumerate(SEQUENCES):
        # each sequence alone is segmented in its own space, against its own labels
        single = fit_experiment(exp, [i])
        metrics[f"dice_myo_single_{name}"] = myo_dice(exp.case.labels[name], single.segmentation)
    metrics["dice_myo_single_best"] = max(metrics[f"dice_myo_single_{s}"] for s in SEQUENCES)
    return noreg


def _generalized(
    exp: Experiment, settings: Settings, seed: int, metrics: dict[str, float]
) -> tuple[Experiment, MvMMFit, MvMMFit]:
    """T2 on part of the slices: marginalised (generalized MvMM) against zero-filled."""
    missing = {"t2": settings.missing_t2_fraction}
    exp_missing = make_experiment(settings, seed, exp.images.device, missing=missing, base=exp)
    labels = exp_missing.case.common_labels
    gen = fit_experiment(exp_missing)
    metrics["dice_myo_missing_t2"] = myo_dice(labels, gen.segmentation)
    zero = dataclasses.replace(
        exp_missing, slice_coverage=torch.ones_like(exp_missing.slice_coverage)
    )
    zero_fit = fit_experiment(zero)
    metrics["dice_myo_zero_filled_t2"] = myo_dice(labels, zero_fit.segmentation)
    # what zero-filling breaks: the T2 model itself, seen where T2 exists
    covered = exp_missing.slice_coverage[SEQUENCES.index("t2")].cpu().numpy()
    for name, f in (("missing_t2", gen), ("zero_filled_t2", zero_fit)):
        metrics[f"dice_edema_{name}"] = pathology_dice(f, labels, covered)[1]
        metrics[f"t2_myo_darkest_mean_{name}"] = darkest_myocardial_mean(f, "t2")
    return exp_missing, gen, zero_fit


def run(
    budget: str = "standard",
    device: torch.device | str | None = "auto",
    seed: int = 0,
    data: Path | None = None,
    out: Path | None = None,
    resume: bool = False,
    **overrides: Any,
) -> Results:
    """Run the chapter's experiments and return their metrics.

    Metrics: ``dice_myo_mvmm`` (common space = bSSFP's), ``dice_myo_mvmm_{bssfp,t2,lge}`` (the
    MvMM's labels pulled back into each sequence's space, against its labels: the paper's
    comparison), ``dice_myo_single_{bssfp,t2,lge}`` (each sequence alone, in its own space),
    ``dice_myo_single_best``, ``dice_myo_noreg``, ``dice_scar``, ``dice_edema``,
    ``dice_myo_missing_t2`` (generalized MvMM, T2 absent on part of the slices),
    ``dice_myo_zero_filled_t2`` (the same slices zero-filled instead of marginalised),
    ``dice_edema_{missing,zero_filled}_t2`` (oedema Dice of these two fits on the slices that
    have T2), ``t2_myo_darkest_mean_{missing,zero_filled}_t2`` (their normal-myocardium T2
    mean), ``residual_translation_px`` (RMS over the ROI), ``residual_rotation_deg``,
    ``initial_{translation_px,rotation_deg}`` (the same before registration),
    ``regnet_dice_before``, ``regnet_dice_after``, ``regnet_dice_mvmm_fusion``,
    ``regnet_dice_product_fusion`` (the same without per-atlas error rates),
    ``regnet_dice_majority_vote``. With ``data``: ``dice_myo_mvmm``, ``dice_scar``,
    ``dice_edema`` of the first training case of the MyoPS or MS-CMRSeg folder.

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: Torch device (or ``"auto"``).
        seed: Seed of the phantom, misalignment and training.
        data: A MyoPS 2020 or MS-CMRSeg folder: the MvMM is fitted to its first training
            case, its atlas from the other training cases (:func:`.real_data.fit_real`),
            instead of the phantom.
        out: The run's folder: RegNet is checkpointed in ``out/checkpoints/regnet`` (the EM
            fits take seconds and are not); the registry writes ``results.json``.
        resume: Continue RegNet's training from its checkpoint in ``out``.
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    device = get_device(device)
    results = Results(
        chapter="mvmm", budget=budget, device=describe_device(device), seed=seed,
        settings=settings, data=None if data is None else str(data),
    )  # fmt: skip
    if data is not None:
        with results.timed("mvmm"):
            real = fit_real(settings, Path(data), device)
        results.metrics.update(real.metrics)
        results.artifacts = Artifacts(real=real)
        return results
    art = Artifacts()
    m = results.metrics
    with results.timed("data"):
        art.experiment = make_experiment(settings, seed, device)
    with results.timed("mvmm"):
        art.fit = _joint(art.experiment, settings, m)
    with results.timed("baselines"):
        art.noreg = _baselines(art.experiment, m)
    with results.timed("generalized"):
        art.experiment_missing, art.generalized, art.zero_filled = _generalized(
            art.experiment, settings, seed, m
        )
    if settings.run_regnet:
        with results.timed("regnet"):
            art.regnet = run_regnet(settings, device, seed, out=out, resume=resume)
        m.update(art.regnet.metrics)
    results.artifacts = art
    return results

"""Notebook helpers: one EM step taken apart, arrays for figures, the results table.

No viewer here (viewers live in :mod:`zmic_lessons.viz`) and no experiment of its own: each
helper reads a fit or an experiment of the chapter's run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..data.labels import SEQUENCES
from .atlas import MYO_K
from .evaluation import myo_dice
from .experiment import FitInputs, fit_experiment
from .model import component_log_density, e_step, init_params, log_likelihood, m_step
from .model import log_prior_from_atlas as _log_prior
from .optimise import MvMMFit, bounding_region, tempered_atlas
from .transforms import StackRigid, gaussian_smooth2d

__all__ = [
    "EMStep",
    "class_densities",
    "first_em_step",
    "iteration_frames",
    "observed_values",
    "results_table",
    "subset_dice",
]


@dataclass
class EMStep:
    """One EM iteration at the starting transforms, in the readable form ``m_step(e_step(.))``.

    Attributes:
        J: ``(S, Z, H', W')`` the sequences resampled at the identity, on the ROI window.
        prior: ``(K, Z, H', W')`` the placed atlas ``pi_k(x)``.
        gamma: ``(K, Z, H', W')`` E-step posteriors at the initial parameters.
        mu_before, mu_after: ``(S, K, C)`` component means before and after the M-step.
        ll_before, ll_after: Log-likelihood at the initial and the updated parameters.
    """

    J: torch.Tensor
    prior: torch.Tensor
    gamma: torch.Tensor
    mu_before: torch.Tensor
    mu_after: torch.Tensor
    ll_before: float
    ll_after: float


def first_em_step(inputs: FitInputs) -> EMStep:
    """The fit's first EM step, taken apart (the full run fuses it: :func:`.em_fused.em`).

    At the first smoothing level, the identity sequence transforms and the placed atlas: the
    state in which :func:`.fit_mvmm` starts (its registration stage flattens the atlas by
    ``config.registration_prior_power``, :func:`.tempered_atlas`; so does this step).
    """
    cfg = inputs.config
    region = bounding_region(inputs.mask)
    y0, x0, hh, ww = region
    mask = inputs.mask[..., y0 : y0 + hh, x0 : x0 + ww]
    s, z = inputs.images.shape[:2]
    transform = StackRigid.identity(s, z, 0, inputs.images.device, inputs.images.dtype)
    sigma = cfg.smoothing[0] if cfg.smoothing else 0.0
    with torch.no_grad():
        j, fov = transform.resample(gaussian_smooth2d(inputs.images, sigma), region)
        coverage = fov & inputs.slice_coverage[:, :, None, None]
        atlas = inputs.atlas
        if cfg.register and cfg.registration_prior_power < 1.0:
            atlas = tempered_atlas(atlas, cfg.registration_prior_power)
        prior = inputs.atlas_init.warp(atlas, region)
        params = init_params(j, prior, inputs.active, coverage, mask, 1.0, cfg.var_floor)
        log_prior = _log_prior(prior, params.w)
        post = e_step(j, params, log_prior, coverage, mask)
        new = m_step(j, post, params, prior, coverage, mask, cfg.var_floor, cfg.update_weights)
        ll_after = log_likelihood(j, new, _log_prior(prior, new.w), coverage, mask)
    return EMStep(j, prior, post.gamma, params.mu, new.mu, float(post.ll), float(ll_after))


def subset_dice(exp, subset: tuple[str, ...] | list[str]) -> float:
    """Myocardium Dice of the MvMM fitted to some sequences only.

    The first chosen sequence defines the common space (as in :func:`.fit_experiment`), so the
    segmentation is scored against that sequence's own labels; with every sequence (bSSFP
    first) this is the chapter's ``dice_myo_mvmm``.

    Args:
        exp: The chapter's :class:`.Experiment`.
        subset: Sequence names from :data:`SEQUENCES`.
    """
    unknown = sorted(set(subset) - set(SEQUENCES))
    if not subset or unknown:
        raise ValueError(f"choose a non-empty subset of {SEQUENCES}, got {list(subset)}")
    idx = [SEQUENCES.index(s) for s in SEQUENCES if s in subset]
    fit = fit_experiment(exp, idx)
    return myo_dice(exp.case.labels[SEQUENCES[idx[0]]], fit.segmentation)


def observed_values(fit: MvMMFit, sequence: int, tissue: int | None = None) -> np.ndarray:
    """Intensities of one sequence in the fitted window, where it was acquired.

    Args:
        fit: A fitted MvMM.
        sequence: Index of the sequence in the fit.
        tissue: Keep only voxels whose posterior for this class exceeds 0.5 (default: all).

    Returns:
        1D array of the resampled intensities ``J_i(x)`` (for histograms under
        :func:`class_densities`).
    """
    keep = fit.coverage[sequence]
    if tissue is not None:
        keep = keep & (fit.posteriors.gamma[tissue] > 0.5)
    return fit.J[sequence][keep].float().cpu().numpy()


def class_densities(fit: MvMMFit, values: torch.Tensor) -> torch.Tensor:
    """Each sequence's fitted class densities ``f_ik(v)`` on a grid of intensities.

    Args:
        fit: A fitted MvMM.
        values: Intensities ``(V,)``.

    Returns:
        ``(S, K, V)``: the per-class Gaussian mixtures of every sequence, for plotting over the
        histograms (the same log densities the likelihood uses).
    """
    params = fit.params
    grid = values.to(params.mu)[None].expand(params.mu.shape[0], -1)
    return torch.logsumexp(component_log_density(grid, params), dim=2).exp()


def iteration_frames(fit: MvMMFit, z: int) -> tuple[list[dict[str, np.ndarray]], list[str]]:
    """Slice ``z`` of every snapshot of a fit: posteriors, labels and the warped sequences.

    Returns:
        ``(frames, titles)`` for :func:`zmic_lessons.viz.frames_figure`: each frame maps a panel
        name to a 2D array of the ROI window (the segmentation as class indices).
    """
    frames, titles = [], []
    for iteration, snap in fit.snapshots:
        gamma = snap["gamma"][:, z]
        frame = {
            "segmentation": gamma.argmax(0).cpu().numpy().astype(np.int64),
            "myocardium posterior": gamma[MYO_K].float().cpu().numpy(),
        }
        for i, name in enumerate(SEQUENCES[: snap["J"].shape[0]]):
            frame[name] = snap["J"][i, z].float().cpu().numpy()
        frames.append(frame)
        titles.append(f"iteration {iteration}")
    return frames, titles


#: The results table: row label, then the metric(s) it shows (two: "a / b").
RESULT_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MvMM, all three sequences, registered", ("dice_myo_mvmm",)),
    ("MvMM without registration", ("dice_myo_noreg",)),
    ("bSSFP alone", ("dice_myo_single_bssfp",)),
    ("in LGE space: MvMM / LGE alone", ("dice_myo_mvmm_lge", "dice_myo_single_lge")),
    ("in T2 space: MvMM / T2 alone", ("dice_myo_mvmm_t2", "dice_myo_single_t2")),
    ("T2 on half the slices: marginalised / zero-filled",
     ("dice_myo_missing_t2", "dice_myo_zero_filled_t2")),
    ("scar / scar + oedema (bright components)", ("dice_scar", "dice_edema")),
    ("RegNet, one atlas: before / after", ("regnet_dice_before", "regnet_dice_after")),
    ("RegNet, fused atlases: MvMM fusion / majority vote",
     ("regnet_dice_mvmm_fusion", "regnet_dice_majority_vote")),
)  # fmt: skip


def results_table(metrics: Mapping[str, float]) -> str:
    """The run's myocardium Dice (and scar, oedema) as a short Markdown table.

    Rows whose metrics the run lacks (e.g. RegNet switched off) are left out.
    """
    lines = ["| experiment (Dice) | this run |", "|---|---|"]
    for label, keys in RESULT_ROWS:
        if all(k in metrics for k in keys):
            lines.append(f"| {label} | {' / '.join(f'{metrics[k]:.3f}' for k in keys)} |")
    return "\n".join(lines)

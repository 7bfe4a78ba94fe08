"""Chapter: MvMM, one hidden label shared by bSSFP, T2 and LGE, with registration inside.

``run(budget, device, seed, data, out)`` builds a misaligned multi-sequence phantom stack,
fits the MvMM (EM + transform ascent on one likelihood), the baselines (each sequence alone
with the same atlas prior; MvMM without registration; generalized MvMM with T2 missing on
half the slices; a zero-filled T2 for contrast) and MvMM-RegNet, and returns the metrics.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.budget import select
from ..core.device import describe_device, get_device
from ..core.metrics import dice
from ..core.results import Results
from ..data.acquisition import MisalignedCase, misalign
from ..data.cardiac import simulate_case
from ..data.labels import EDEMA, SCAR, SEQUENCES
from .atlas import (
    CLASSES,
    MYO_K,
    centre_on_heart,
    intensity_template,
    probabilistic_atlas,
    roi_mask,
    tissue_classes,
)
from .model import active_from_counts, bright_component_map, component_log_density
from .optimise import FitConfig, MvMMFit, fit_mvmm
from .placement import DEFAULT_SCALES, place_atlas, search_atlas_offset
from .transforms import AtlasAffine, StackRigid

TITLE = "MvMM: multivariate mixture model for multi-sequence cardiac MR (Q1-Q5)"


@dataclass(frozen=True)
class Settings:
    """Chapter settings per budget (override any field through ``run(..., field=value)``).

    Attributes:
        size: Image matrix (pixels); the pixel size scales so the field of view stays 192 mm.
        n_slices: Slices per stack (base to apex).
        n_atlas: Phantom cases averaged into the probabilistic atlas.
        n_iter: Outer MvMM iterations (EM + transform ascent).
        em_steps: EM iterations per outer iteration.
        reg_steps: Transform ascent steps per outer iteration.
        smoothing: Coarse-to-fine Gaussian sigmas (pixels at 128 px; scaled with ``size``).
        bg_components: Gaussian components of the background class in every sequence.
        blood_components: Gaussian components of each blood pool (blood + the papillary and
            trabecular muscle inside it, labelled blood but with myocardial signal).
        atlas_sigma: Gaussian smoothing of the atlas (pixels at 128 px).
        atlas_floor: Smallest atlas probability.
        var_floor: Smallest component variance (three sequences with tiny variances would
            otherwise overwhelm the atlas prior).
        atlas_grid: Control points per side of the atlas's free-form deformation (0: affine).
        atlas_bending: Weight of its bending energy.
        atlas_coarse_grid: Coarser control grid used before the last level (0: none).
        atlas_gem_steps: Inner steps of the atlas's generalized-EM step (0: plain ascent).
        atlas_lr_px: Inner Adam step (pixels at 128 px).
        roi_margin_px: Dilation of the warped atlas's heart region that makes the ROI (pixels
            at 128 px): smaller keeps chest wall, liver and atria out of the fit.
        atlas_placement: How the atlas is placed before the fit: ``"template"`` (the atlas
            cases' mean bSSFP matched by NCC proposes, the likelihood chooses,
            :func:`.place_atlas`, then one atlas shift per slice) or ``"grid"`` (a grid of
            shifts and scales scored by the likelihood alone, :func:`.search_atlas_offset`).
            Over seeds 0-7 ``"grid"`` fails on three (myocardium Dice 0.18-0.39), ``"template"``
            on none (``benchmarks/bench_mvmm_seeds.py --placement``).
        atlas_search_step_px: Shift step of the ``"grid"`` placement (pixels at 128 px).
        atlas_scales: Atlas sizes tried by the placement (``None``: (0.85, 1.0, 1.15) for
            ``"grid"``, :data:`.DEFAULT_SCALES` for ``"template"``).
        max_angle_deg: Largest simulated rotation per sequence.
        max_shift_px: Largest simulated translation per sequence (pixels at 128 px).
        regnet_size: Image size of the RegNet lesson.
        regnet_steps: RegNet training steps.
        regnet_cases: Phantom slices in the RegNet training pool.
        regnet_atlases: Atlases fused in the groupwise (multi-atlas) evaluation.
        run_regnet: Train and evaluate MvMM-RegNet.
    """

    size: int = 128
    n_slices: int = 5
    n_atlas: int = 4
    n_iter: int = 30
    em_steps: int = 1
    reg_steps: int = 4
    smoothing: tuple[float, ...] = (2.0, 1.0, 0.0)
    bg_components: int = 3
    blood_components: int = 2
    atlas_sigma: float = 1.0
    atlas_floor: float = 1e-6
    var_floor: float = 3e-3
    atlas_grid: int = 0
    atlas_bending: float = 0.05
    atlas_coarse_grid: int = 0
    atlas_gem_steps: int = 0
    atlas_lr_px: float = 0.5
    roi_margin_px: float = 6.0
    atlas_placement: str = "template"
    atlas_search_step_px: float = 6.0
    atlas_scales: tuple[float, ...] | None = None
    max_angle_deg: float = 6.0
    max_shift_px: float = 5.0
    regnet_size: int = 64
    regnet_steps: int = 1000
    regnet_cases: int = 16
    regnet_atlases: int = 3
    run_regnet: bool = True


BUDGETS: dict[str, Settings] = {
    "quick": Settings(
        size=64, n_slices=2, n_atlas=2, n_iter=4, reg_steps=2, atlas_search_step_px=8.0,
        regnet_size=32, regnet_steps=3, regnet_cases=4, regnet_atlases=2,
    ),
    "standard": Settings(),
    "full": Settings(
        size=192, n_slices=10, n_atlas=8, n_iter=120, em_steps=2, reg_steps=6,
        smoothing=(3.0, 2.0, 1.0, 0.0), atlas_search_step_px=4.0, regnet_size=128,
        regnet_steps=3000, regnet_cases=64, regnet_atlases=5,
    ),
}  # fmt: skip


def components(bg: int, blood: int = 2) -> list[list[int]]:
    """Components per (sequence, class) in :data:`SEQUENCES` x :data:`CLASSES` order.

    Myocardium has two components in T2 (normal + oedema) and LGE (normal + scar), one in
    bSSFP; each blood pool ``blood`` (blood + papillary/trabecular muscle, which the labels
    count as blood but which has myocardial signal: several components per tissue, and the
    prior decides); the background ``bg`` (lung, fat, liver, chest wall).
    """
    b = blood
    table = {"bssfp": [bg, b, 1, b], "t2": [bg, b, 2, b], "lge": [bg, b, 2, b]}
    return [table[s] for s in SEQUENCES]


@dataclass
class Experiment:
    """The inputs every fit of the chapter shares."""

    case: MisalignedCase
    images: torch.Tensor  # (S, Z, H, W) in each sequence's space
    slice_coverage: torch.Tensor  # (S, Z)
    atlas: torch.Tensor  # (K, Z, H, W)
    atlas_init: AtlasAffine
    mask: torch.Tensor  # (Z, H, W)
    active: torch.Tensor  # (S, K, C)
    config: FitConfig


def _scaled(settings: Settings) -> tuple[float, float]:
    return settings.size / 128.0, 192.0 / settings.size


def _roi_margin(settings: Settings) -> int:
    return max(1, int(round(settings.roi_margin_px * _scaled(settings)[0])))


def label_atlas(
    settings: Settings, labels: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A case's own labels as its atlas, smoothed like the chapter's, and that atlas's ROI.

    The perfect prior of the benchmarks' bounds (``benchmarks/bench_mvmm_atlas_bound.py``,
    ``benchmarks/bench_mvmm_factorisation.py``): fitted with the identity atlas transform.

    Returns:
        ``(atlas (K, Z, H, W), mask (Z, H, W))``.
    """
    atlas = probabilistic_atlas(
        tissue_classes(labels), sigma=settings.atlas_sigma * _scaled(settings)[0],
        floor=settings.atlas_floor, device=device,
    )  # fmt: skip
    return atlas, roi_mask(atlas, margin=_roi_margin(settings))


def initial_atlas_transform(
    settings: Settings,
    image: torch.Tensor,
    atlas: torch.Tensor,
    active: torch.Tensor,
    template: torch.Tensor,
    *,
    max_shift_px: float,
    step_px: float,
    margin_px: int,
    pool: int,
) -> AtlasAffine:
    """Place the atlas on the reference stack as ``settings.atlas_placement`` says.

    Args:
        settings: Chapter settings (``atlas_placement``, ``atlas_scales``).
        image: ``(1, Z, H, W)`` reference stack; atlas: ``(K, Z, H, W)``; active: ``(1, K, C)``.
        template: ``(Z, H, W)`` the atlas's mean image (used by ``"template"`` only).
        max_shift_px, step_px, margin_px, pool: Search extent, grid step, NCC margin and
            downsampling, in pixels of this image.
    """
    if settings.atlas_placement == "template":
        return place_atlas(
            image, atlas, template, active, scales=settings.atlas_scales or DEFAULT_SCALES,
            max_shift_px=max_shift_px, margin_px=margin_px, pool=pool,
        ).per_slice(image.shape[1])  # fmt: skip
    if settings.atlas_placement == "grid":
        return search_atlas_offset(
            image, atlas, active, max_shift_px=max_shift_px, step_px=step_px,
            scales=settings.atlas_scales or (0.85, 1.0, 1.15), pool=pool,
        )  # fmt: skip
    raise ValueError(
        f"atlas_placement must be 'grid' or 'template', got {settings.atlas_placement!r}"
    )


def make_experiment(
    settings: Settings,
    seed: int,
    device: torch.device,
    missing: dict[str, float] | None = None,
    base: Experiment | None = None,
) -> Experiment:
    """Phantom stack, misalignment, atlas from other phantoms, atlas search and ROI.

    With ``base`` (an experiment on the same phantom), its atlas, atlas initialisation and ROI
    are reused: the reference sequence, hence the common space, is the same.
    """
    scale, pixel_mm = _scaled(settings)
    case = simulate_case(seed, size=settings.size, n_slices=settings.n_slices, pixel_mm=pixel_mm)
    mis = misalign(
        case,
        seed + 1,
        max_angle_deg=settings.max_angle_deg,
        max_shift_px=settings.max_shift_px * scale,
        slice_shift_px=2.0 * scale,
        missing=missing or {},
    )
    images = torch.tensor(np.stack([mis.images[s] for s in SEQUENCES]), device=device)
    cover = torch.tensor(np.stack([mis.coverage[s] for s in SEQUENCES]), device=device)
    if base is not None:
        return dataclasses.replace(base, case=mis, images=images, slice_coverage=cover)
    atlas_cases = [
        simulate_case(
            10_000 + 97 * seed + i,
            size=settings.size,
            n_slices=settings.n_slices,
            pixel_mm=pixel_mm,
        )
        for i in range(settings.n_atlas)
    ]
    atlas_maps = [tissue_classes(c.labels) for c in atlas_cases]
    atlas = probabilistic_atlas(
        [centre_on_heart(m) for m in atlas_maps],
        sigma=settings.atlas_sigma * scale,
        floor=settings.atlas_floor,
        device=device,
    )
    active = active_from_counts(
        components(settings.bg_components, settings.blood_components), device=device
    )
    # The likelihood that places the atlas uses one component per blood pool: a less flexible
    # model is a more discriminative score (two blood components can absorb a misplaced
    # myocardium, which sent the grid search astray on seed 2).
    search_active = active_from_counts(components(settings.bg_components, 1)[:1], device=device)
    margin = _roi_margin(settings)
    pool = max(1, int(round(2 * scale)))
    template = intensity_template(
        [c.images[SEQUENCES[0]] for c in atlas_cases], atlas_maps, device=device
    )
    init = initial_atlas_transform(
        settings, images[:1], atlas, search_active, template,
        max_shift_px=24 * scale, step_px=settings.atlas_search_step_px * scale,
        margin_px=margin, pool=pool,
    )  # fmt: skip
    mask = roi_mask(init.warp(atlas), margin=margin)
    config = FitConfig(
        n_iter=settings.n_iter,
        em_steps=settings.em_steps,
        reg_steps=settings.reg_steps,
        smoothing=tuple(s * scale for s in settings.smoothing),
        radius_px=30.0 * scale,
        update_weights=False,
        var_floor=settings.var_floor,
        atlas_grid=settings.atlas_grid,
        atlas_bending=settings.atlas_bending,
        atlas_coarse_grid=settings.atlas_coarse_grid,
        atlas_gem_steps=settings.atlas_gem_steps,
        atlas_lr_px=settings.atlas_lr_px * scale,
    )
    return Experiment(mis, images, cover, atlas, init, mask, active, config)


def fit_experiment(exp: Experiment, sequences: list[int] | None = None, **config: Any) -> MvMMFit:
    """Fit the MvMM to some (default all) sequences of an experiment."""
    idx = list(range(len(SEQUENCES))) if sequences is None else sequences
    return fit_mvmm(
        exp.images[idx],
        exp.atlas,
        exp.active[idx],
        slice_coverage=exp.slice_coverage[idx],
        mask=exp.mask,
        config=dataclasses.replace(exp.config, **config),
        atlas_transform=exp.atlas_init,
    )


def myo_dice(labels: np.ndarray, segmentation: torch.Tensor) -> float:
    """Myocardium Dice (scar and oedema count as myocardium)."""
    truth = tissue_classes(labels) == MYO_K
    return float(dice(segmentation.cpu().numpy() == MYO_K, truth))


def true_transform(
    case: MisalignedCase, fixed: torch.Tensor, like: torch.Tensor | None = None
) -> StackRigid:
    """The simulated sequence/slice transforms as a :class:`StackRigid`.

    Args:
        case: The misaligned phantom.
        fixed: ``(S,)`` bool, the sequences held at the identity (the reference).
        like: Tensor whose dtype and device the transform takes (default float64 on the CPU).
    """
    ref = like if like is not None else torch.zeros((), dtype=torch.float64)
    angle = [case.sequence_transforms[s].angle for s in SEQUENCES]
    shift = [[t.shift for t in case.transforms[s]] for s in SEQUENCES]
    return StackRigid(
        torch.tensor(angle, dtype=ref.dtype, device=ref.device),
        torch.tensor(shift, dtype=ref.dtype, device=ref.device),
        fixed.to(ref.device),
    )


def residual_misalignment(
    fit_transform: StackRigid, case: MisalignedCase, mask: torch.Tensor
) -> tuple[float, float]:
    """RMS displacement error over the ROI (pixels) and mean |angle error| (degrees).

    Averaged over the non-reference sequences and their slices.
    """
    z, h, w = mask.shape
    true = true_transform(case, fit_transform.fixed)
    est = StackRigid(
        fit_transform.angle.detach().cpu().double(),
        fit_transform.shift.detach().cpu().double(),
        fit_transform.fixed.cpu(),
    )
    diff = ((est.coords(h, w) - true.coords(h, w)) ** 2).sum(-1)  # (S, Z, H, W)
    moving = ~fit_transform.fixed.cpu()
    m = mask.cpu().double()[None]
    rms = float(torch.sqrt((diff[moving] * m).sum() / (m.sum() * int(moving.sum()))))
    angle_err = (est.angle - true.angle).abs()[moving]
    return rms, float(np.degrees(float(angle_err.mean())))


def subset_dice(exp: Experiment, subset: tuple[str, ...] | list[str]) -> float:
    """Myocardium Dice of the MvMM fitted to some sequences only.

    The first chosen sequence defines the common space (as in :func:`fit_experiment`), so the
    segmentation is scored against that sequence's own labels; with every sequence (bSSFP
    first) this is the chapter's ``dice_myo_mvmm``.
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


def pathology_maps(fit: MvMMFit) -> tuple[torch.Tensor, torch.Tensor]:
    """Scar (bright LGE myocardial component) and oedema (bright T2 one) on the full grid.

    Returns:
        ``(scar, oedema)``, each a float ``(Z, H, W)`` map in {0, 1}.
    """
    i_t2, i_lge = SEQUENCES.index("t2"), SEQUENCES.index("lge")
    scar = fit.embed(bright_component_map(fit.posteriors, fit.params, i_lge, MYO_K).float())
    edema = fit.embed(bright_component_map(fit.posteriors, fit.params, i_t2, MYO_K).float())
    return scar, edema


def pathology_dice(
    fit: MvMMFit, labels: np.ndarray, slices: np.ndarray | None = None
) -> tuple[float, float]:
    """Scar (bright LGE myocardium) and oedema (bright T2 myocardium) Dice in common space.

    Oedema is compared with scar + oedema (the phantom, like MyoPS, lets scar override
    oedema, and scarred tissue is oedematous in T2).

    Args:
        fit: A fitted MvMM with all three sequences.
        labels: Common-space data labels ``(Z, H, W)``.
        slices: Score only these slices (bool ``(Z,)``), e.g. those where T2 was acquired.
    """
    scar, edema = pathology_maps(fit)
    keep = slice(None) if slices is None else np.asarray(slices, dtype=bool)
    scar_np, edema_np, labels = scar.cpu().numpy()[keep], edema.cpu().numpy()[keep], labels[keep]
    d_scar = float(dice(scar_np > 0.5, labels == SCAR))
    d_edema = float(dice(edema_np > 0.5, (labels == SCAR) | (labels == EDEMA)))
    return d_scar, d_edema


def darkest_myocardial_mean(fit: MvMMFit, sequence: str) -> float:
    """Mean of the darkest myocardial component of one sequence (normal myocardium).

    A zero-filled sequence spends this component on the zeros: it drops to about 0.
    """
    params = fit.params
    i = SEQUENCES.index(sequence)
    mu = torch.where(params.active[i, MYO_K], params.mu[i, MYO_K], math.inf)
    return float(mu.min())


def run(
    budget: str = "standard",
    device: torch.device | str | None = "auto",
    seed: int = 0,
    data: Path | None = None,
    out: Path | None = None,
    **overrides: Any,
) -> Results:
    """Run the chapter's experiments and return their metrics.

    Metrics: ``dice_myo_mvmm`` (common space = bSSFP's), ``dice_myo_mvmm_{bssfp,t2,lge}`` (the
    MvMM's labels pulled back into each sequence's space, against its labels: the paper's
    comparison), ``dice_myo_single_{bssfp,t2,lge}`` (each sequence alone, in its own space),
    ``dice_myo_single_best``,
    ``dice_myo_noreg``, ``dice_scar``, ``dice_edema``, ``dice_myo_missing_t2`` (generalized MvMM,
    T2 absent on half the slices), ``dice_myo_zero_filled_t2`` (the same slices zero-filled
    instead of marginalised), ``dice_edema_{missing,zero_filled}_t2`` (oedema Dice of these two
    fits on the slices that have T2), ``t2_myo_darkest_mean_{missing,zero_filled}_t2`` (their
    normal-myocardium T2 mean), ``residual_translation_px`` (RMS over the ROI),
    ``residual_rotation_deg``, ``initial_{translation_px,rotation_deg}`` (the same before
    registration), ``regnet_dice_before``, ``regnet_dice_after``,
    ``regnet_dice_mvmm_fusion``, ``regnet_dice_product_fusion`` (the same without per-atlas
    error rates), ``regnet_dice_majority_vote``.

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: Torch device (or ``"auto"``).
        seed: Seed of the phantom, misalignment and training.
        data: A MyoPS 2020 folder: the MvMM is fitted to its first training case (pre-aligned
            sequences, so the transforms should stay near the identity) instead of the phantom.
        out: Unused here (the registry writes ``results.json``).
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    device = get_device(device)
    results = Results(chapter="mvmm", budget=budget, device=describe_device(device), seed=seed)
    results.artifacts["settings"] = settings
    if data is not None:
        return _run_real(settings, device, seed, Path(data), results)
    with results.timed("data"):
        exp = make_experiment(settings, seed, device)
    with results.timed("mvmm"):
        fit = fit_experiment(exp, snapshot_every=max(1, settings.n_iter // 10))
    labels = exp.case.common_labels
    results.metrics["dice_myo_mvmm"] = myo_dice(labels, fit.segmentation)
    for i, name in enumerate(SEQUENCES):
        # the paper's comparison: each sequence's own segmentation, MvMM against that sequence
        seg = fit.segmentation_in_sequence(i)
        results.metrics[f"dice_myo_mvmm_{name}"] = myo_dice(exp.case.labels[name], seg)
    results.metrics["dice_scar"], results.metrics["dice_edema"] = pathology_dice(fit, labels)
    rms, angle = residual_misalignment(fit.transform, exp.case, exp.mask)
    results.metrics["residual_translation_px"] = rms
    results.metrics["residual_rotation_deg"] = angle
    with results.timed("baselines"):
        noreg = fit_experiment(exp, register=False)
        results.metrics["dice_myo_noreg"] = myo_dice(labels, noreg.segmentation)
        # the transforms stay at the identity: the misalignment registration starts from
        rms0, angle0 = residual_misalignment(noreg.transform, exp.case, exp.mask)
        results.metrics["initial_translation_px"] = rms0
        results.metrics["initial_rotation_deg"] = angle0
        singles = {}
        for i, name in enumerate(SEQUENCES):
            single = fit_experiment(exp, [i])
            # each sequence alone is segmented in its own space, against its own labels
            singles[name] = myo_dice(exp.case.labels[name], single.segmentation)
            results.metrics[f"dice_myo_single_{name}"] = singles[name]
        results.metrics["dice_myo_single_best"] = max(singles.values())
    with results.timed("generalized"):
        exp_missing = make_experiment(settings, seed, device, missing={"t2": 0.5}, base=exp)
        gen = fit_experiment(exp_missing)
        results.metrics["dice_myo_missing_t2"] = myo_dice(
            exp_missing.case.common_labels, gen.segmentation
        )
        zero = dataclasses.replace(
            exp_missing, slice_coverage=torch.ones_like(exp_missing.slice_coverage)
        )
        zero_fit = fit_experiment(zero)
        results.metrics["dice_myo_zero_filled_t2"] = myo_dice(
            exp_missing.case.common_labels, zero_fit.segmentation
        )
        # what zero-filling breaks: the T2 model itself, seen where T2 exists
        covered = exp_missing.slice_coverage[SEQUENCES.index("t2")].cpu().numpy()
        for name, f in (("missing_t2", gen), ("zero_filled_t2", zero_fit)):
            _, d_edema = pathology_dice(f, exp_missing.case.common_labels, covered)
            results.metrics[f"dice_edema_{name}"] = d_edema
            results.metrics[f"t2_myo_darkest_mean_{name}"] = darkest_myocardial_mean(f, "t2")
    results.artifacts.update(
        experiment=exp,
        fit=fit,
        noreg=noreg,
        generalized=gen,
        zero_filled=zero_fit,
        experiment_missing=exp_missing,
    )
    if settings.run_regnet:
        from .regnet import run_regnet

        with results.timed("regnet"):
            reg = run_regnet(settings, device, seed)
        results.metrics.update(reg.metrics)
        results.artifacts["regnet"] = reg
    return results


def _run_real(
    settings: Settings, device: torch.device, seed: int, data: Path, results: Results
) -> Results:
    """Fit the MvMM to the first MyoPS 2020 training case (pre-aligned, labelled)."""
    from ..data.datasets import MyoPS2020

    dataset = MyoPS2020(data, split="train")
    case = dataset[0]
    images = []
    for name in SEQUENCES:
        img = np.asarray(case.images[name], np.float32)
        hi = np.percentile(img, 99.5)
        images.append(np.clip(img / max(hi, 1e-6), 0, 1.5))
    labels = case.labels[SEQUENCES[0]]
    x = torch.tensor(np.stack(images), device=device)
    truth = tissue_classes(labels)
    # An atlas from the other labelled cases would be the paper's way; the lesson uses the
    # next training case, centred, as a one-case atlas (its bSSFP image places it).
    other_case = dataset[1 % len(dataset)]
    other = tissue_classes(other_case.labels[SEQUENCES[0]])
    if other.shape != labels.shape:
        raise ValueError(
            f"MyoPS cases {dataset.names()[0]} and {dataset.names()[1]} have different grids "
            f"{labels.shape} vs {other.shape}; resample them to one grid first"
        )
    atlas = probabilistic_atlas(centre_on_heart(other), floor=settings.atlas_floor, device=device)
    active = active_from_counts(
        components(settings.bg_components, settings.blood_components), device=device
    )
    init = initial_atlas_transform(
        settings, x[:1], atlas, active[:1],
        intensity_template([other_case.images[SEQUENCES[0]]], [other], device=device),
        max_shift_px=40.0, step_px=8.0, margin_px=8, pool=2,
    )  # fmt: skip
    mask = roi_mask(init.warp(atlas), margin=8)
    config = FitConfig(n_iter=settings.n_iter, reg_steps=settings.reg_steps, update_weights=False)
    with results.timed("mvmm"):
        fit = fit_mvmm(x, atlas, active, mask=mask, config=config, atlas_transform=init)
    results.metrics["dice_myo_mvmm"] = float(
        dice(fit.segmentation.cpu().numpy() == MYO_K, truth == MYO_K)
    )
    results.metrics["dice_scar"], results.metrics["dice_edema"] = pathology_dice(fit, labels)
    results.artifacts.update(fit=fit, real_case=case.name, classes=CLASSES)
    return results

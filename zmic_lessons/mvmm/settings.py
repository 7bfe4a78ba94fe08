"""The MvMM chapter's settings: every knob, each default in one place, and the budgets.

Lengths in pixels are pixels of the 128-pixel phantom (1.5 mm over a 192 mm field of view); the
experiment rescales them to the grid it works on (:func:`pixel_scale`), so one setting means the
same physical length at every budget and on real data. :func:`fit_config` turns the settings
into the optimiser's :class:`~.fit_types.FitConfig`, for the phantom and the real data alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.labels import SEQUENCES
from .optimise import FitConfig

#: Pixel size (mm) that the pixel lengths of :class:`Settings` refer to (128 px over 192 mm).
REFERENCE_PIXEL_MM = 1.5
#: Field of view of the phantom (mm); its pixel size is ``FOV_MM / size``.
FOV_MM = 192.0


@dataclass(frozen=True)
class Settings:
    """Chapter settings (override any field: ``run_chapter("mvmm", field=value)``, ``--set``).

    Attributes:
        size: Phantom matrix (pixels); the pixel size scales so the field of view stays 192 mm.
        n_slices: Slices per stack (base to apex).
        max_angle_deg: Largest simulated rotation per sequence (degrees).
        max_shift_px: Largest simulated translation per sequence (pixels).
        slice_shift_px: Largest simulated breath-hold shift per slice (pixels).
        missing_t2_fraction: Share of the slices without T2 in the generalized-MvMM experiment.
        native_resolution: Each sequence at its own MS-CMRSeg resolution (:mod:`.data.native`),
            resampled slice by slice into the common space. Off by default: over seeds 0-7 at
            ``standard`` it leaves about 0.85 px and 0.9 degrees of residual misalignment
            (one grid: 0.37 px, 0.5 degrees) and T2 alone in its 16 mm slabs gains little
            from the joint model (``benchmarks/bench_mvmm_resolution.py``).
        n_atlas: Cases averaged into the probabilistic atlas (phantoms, or other real cases).
        atlas_sigma: Gaussian smoothing of the atlas (pixels).
        atlas_floor: Smallest atlas probability.
        atlas_placement: How the atlas is placed before the fit: ``"template"`` (the atlas
            cases' mean bSSFP matched by NCC proposes, the likelihood chooses,
            :func:`.place_atlas`, then one atlas shift per slice) or ``"grid"`` (a grid of
            shifts and scales scored by the likelihood alone, :func:`.search_atlas_offset`).
            Over seeds 0-7 ``"grid"`` fails on three (myocardium Dice 0.18-0.39), ``"template"``
            on none (``benchmarks/bench_mvmm_seeds.py --placement``).
        atlas_search_range_px: Largest shift the placement tries in each direction (pixels).
        atlas_search_step_px: Shift step of the ``"grid"`` placement (pixels).
        atlas_search_pool_px: Downsampling of the placement searches (pixels).
        atlas_scales: Atlas sizes tried by the placement (``None``: (0.85, 1.0, 1.15) for
            ``"grid"``, :data:`.DEFAULT_SCALES` for ``"template"``).
        atlas_angles: In-plane orientations (degrees) the template placement tries (``None``:
            :data:`.DEFAULT_ANGLES`, +-30 degrees in steps of 10; ``(0.0,)``: scales only).
        roi_margin_px: Dilation of the placed atlas's heart region that makes the ROI (pixels):
            smaller keeps chest wall, liver and atria out of the fit.
        bg_components: Gaussian components of the background class in every sequence.
        blood_components: Gaussian components of each blood pool (blood + the papillary and
            trabecular muscle inside it, labelled blood but with myocardial signal).
        var_floor: Smallest component variance (intensity units squared; three sequences with
            tiny variances would otherwise overwhelm the atlas prior).
        update_weights: Re-estimate the class weights ``w`` (``False``: the atlas alone is the
            prior).
        n_iter: Outer MvMM iterations (EM + transform ascent).
        em_steps: EM iterations per outer iteration.
        reg_steps: Transform ascent steps per outer iteration.
        smoothing: Coarse-to-fine Gaussian sigmas of the images (pixels).
        step_px: First step of the transform ascent (pixels of displacement; not rescaled).
        max_step_px: Largest step of the ascent (pixels; not rescaled).
        radius_px: Length that turns a rotation into a displacement (pixels).
        registration_prior_power: The atlas is raised to this power (flattened) while the
            transforms are estimated; the segmentation then uses the atlas itself (1.0: one
            stage, the atlas throughout). Over seeds 0-7 at ``standard``, 0.2 leaves a
            residual of about 0.4 px and 0.6 degrees against 1.1 px and 1.9 degrees at 1.0;
            0.1 and 0 let a shift run away on some seeds (``benchmarks/bench_mvmm_seeds.py``).
        max_rotation_deg: Largest rotation the fit gives a sequence (degrees): the ascent is
            projected onto ``|angle| <= max_rotation_deg``. Sequences of one breath-held
            session turn by a few degrees; a bound of 15 let T2 on one stress case run to it
            at the coarsest level (its appearance not yet learned) and end 9 degrees off,
            worse than it started, while with 10 it returns to within 2 degrees, on a higher
            likelihood (``benchmarks/bench_mvmm_stress.py``). Raise it for data with larger
            rotations between sequences.
        registration_n_iter: Outer iterations of that registration stage (0: ``n_iter``).
            At ``standard``, 60 instead of 30 lets seed 7 leave a basin 1 degree off (mean
            residual rotation over seeds 0-7: 0.60 -> 0.50 degrees); T2 on seeds 0 and 5 stays
            1.4-1.7 degrees off, where the likelihood itself peaks (on seed 5 even with the
            case's own labels as the prior).
        snapshots: About how many snapshots of the main fit the notebook steps through (0: none).
        atlas_grid: Control points per side of the atlas's free-form deformation (0: affine).
        atlas_bending: Weight of its bending energy.
        atlas_coarse_grid: Coarser control grid used before the last level (0: none).
        atlas_gem_steps: Inner steps of the atlas's generalized-EM step (0: plain ascent).
        atlas_lr_px: Inner Adam step (pixels).
        run_regnet: Train and evaluate MvMM-RegNet.
        regnet_size: Image size of the RegNet lesson (pixels; its field of view is cut from a
            phantom of twice this size).
        regnet_steps: RegNet training steps.
        regnet_cases: Phantom slices in the RegNet training pool.
        regnet_atlases: Atlases fused in the groupwise (multi-atlas) evaluation.
        regnet_targets: Held-out target slices of the evaluation.
        regnet_lr: Adam learning rate of the RegNet.
        regnet_batch: Pairs per training step.
        regnet_bending: Weight of the displacement's bending energy in the RegNet loss.
        regnet_disp_l2: Weight of the mean squared displacement at ``regnet_size=64``
            (scaled by ``(64 / regnet_size)**2``, so it penalises the same physical motion).
        regnet_sigma_px: Smoothing of the atlas labels in the label-consistency term (pixels at
            ``regnet_size=64``, scaled with ``regnet_size``).
    """

    size: int = 128
    n_slices: int = 5
    max_angle_deg: float = 6.0
    max_shift_px: float = 5.0
    slice_shift_px: float = 2.0
    missing_t2_fraction: float = 0.5
    native_resolution: bool = False
    n_atlas: int = 4
    atlas_sigma: float = 1.0
    atlas_floor: float = 1e-6
    atlas_placement: str = "template"
    atlas_search_range_px: float = 24.0
    atlas_search_step_px: float = 6.0
    atlas_search_pool_px: float = 2.0
    atlas_scales: tuple[float, ...] | None = None
    atlas_angles: tuple[float, ...] | None = None
    roi_margin_px: float = 6.0
    bg_components: int = 3
    blood_components: int = 2
    var_floor: float = 3e-3
    update_weights: bool = False
    n_iter: int = 30
    em_steps: int = 1
    reg_steps: int = 4
    smoothing: tuple[float, ...] = (2.0, 1.0, 0.0)
    step_px: float = 1.0
    max_step_px: float = 2.0
    radius_px: float = 30.0
    registration_prior_power: float = 0.2
    max_rotation_deg: float = 10.0
    registration_n_iter: int = 60
    snapshots: int = 10
    atlas_grid: int = 0
    atlas_bending: float = 0.05
    atlas_coarse_grid: int = 0
    atlas_gem_steps: int = 0
    atlas_lr_px: float = 0.5
    run_regnet: bool = True
    regnet_size: int = 64
    regnet_steps: int = 1000
    regnet_cases: int = 16
    regnet_atlases: int = 3
    regnet_targets: int = 6
    regnet_lr: float = 1e-3
    regnet_batch: int = 4
    regnet_bending: float = 1.0
    regnet_disp_l2: float = 0.01
    regnet_sigma_px: float = 1.5


BUDGETS: dict[str, Settings] = {
    "quick": Settings(
        size=64, n_slices=2, n_atlas=2, n_iter=4, reg_steps=2, atlas_search_step_px=8.0,
        registration_n_iter=0,
        regnet_size=32, regnet_steps=3, regnet_cases=4, regnet_atlases=2,
    ),
    "standard": Settings(),
    "full": Settings(
        size=192, n_slices=10, n_atlas=8, n_iter=120, em_steps=2, reg_steps=6,
        registration_n_iter=0,
        smoothing=(3.0, 2.0, 1.0, 0.0), atlas_search_step_px=4.0, regnet_size=128,
        regnet_steps=3000, regnet_cases=64, regnet_atlases=5,
    ),
}  # fmt: skip


def pixel_scale(pixel_mm: float) -> float:
    """Pixels of a grid with ``pixel_mm`` pixels per pixel of the settings (1.5 mm)."""
    if not pixel_mm > 0:
        raise ValueError(f"pixel size must be > 0 mm, got {pixel_mm}")
    return REFERENCE_PIXEL_MM / pixel_mm


def phantom_pixel_mm(settings: Settings) -> float:
    """The phantom's pixel size (mm): the field of view stays 192 mm at every ``size``."""
    return FOV_MM / settings.size


def components(bg: int, blood: int = 2) -> list[list[int]]:
    """Components per (sequence, class) in :data:`SEQUENCES` x :data:`.CLASSES` order.

    Myocardium has three components in T2 (pixels as dark as the neighbouring tissue that the
    prior still calls myocardium, normal myocardium, oedema: with two, the dark pixels take
    one and normal myocardium and oedema share the other; three raise the oedema Dice on
    every seed with oedema, mean 0.453 -> 0.505 over the six of seeds 0-7 that have oedema at
    ``standard``, myocardium Dice unchanged), two in LGE (normal + scar), one in bSSFP; each
    blood pool ``blood`` (blood + papillary/trabecular muscle, which the labels count as blood
    but which has myocardial signal: several components per tissue, and the prior decides);
    the background ``bg`` (lung, fat, liver, chest wall).
    """
    b = blood
    table = {"bssfp": [bg, b, 1, b], "t2": [bg, b, 3, b], "lge": [bg, b, 2, b]}
    return [table[s] for s in SEQUENCES]


def roi_margin(settings: Settings, scale: float) -> int:
    """The ROI's dilation in pixels of a grid ``scale`` times finer than the settings'."""
    return max(1, int(round(settings.roi_margin_px * scale)))


def fit_config(settings: Settings, scale: float) -> FitConfig:
    """THE :class:`FitConfig` of the chapter, for the phantom and the real data alike.

    Args:
        settings: Chapter settings.
        scale: Pixels of the fitted grid per settings pixel (:func:`pixel_scale`).
    """
    return FitConfig(
        n_iter=settings.n_iter,
        em_steps=settings.em_steps,
        reg_steps=settings.reg_steps,
        smoothing=tuple(s * scale for s in settings.smoothing),
        var_floor=settings.var_floor,
        update_weights=settings.update_weights,
        step_px=settings.step_px,
        max_step_px=settings.max_step_px,
        radius_px=settings.radius_px * scale,
        registration_prior_power=settings.registration_prior_power,
        max_angle_deg=settings.max_rotation_deg,
        registration_n_iter=settings.registration_n_iter,
        atlas_grid=settings.atlas_grid,
        atlas_bending=settings.atlas_bending,
        atlas_gem_steps=settings.atlas_gem_steps,
        atlas_lr_px=settings.atlas_lr_px * scale,
        atlas_coarse_grid=settings.atlas_coarse_grid,
    )


def snapshot_every(settings: Settings) -> int:
    """Iterations between the main fit's snapshots (0: none)."""
    return max(1, settings.n_iter // settings.snapshots) if settings.snapshots > 0 else 0

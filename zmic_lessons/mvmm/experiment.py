"""The MvMM experiment: the stack, the atlas from other cases, its placement, the ROI, the fits.

The phantom path (:func:`make_experiment`) and the real-data path (:mod:`.real_data`) share
:func:`prepare_fit`: the atlas, its placement, the region of interest and the optimiser's
configuration (:func:`.settings.fit_config`) come from the same :class:`.Settings` by the same
code; only where the images and the atlas cases come from differs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..data.acquisition import MisalignedCase, misalign
from ..data.cardiac import simulate_case
from ..data.labels import SEQUENCES
from ..data.native import misalign_native_like, native_in_place
from .atlas import (
    centre_on_heart,
    intensity_template,
    probabilistic_atlas,
    roi_mask,
    tissue_classes,
)
from .model import active_from_counts
from .optimise import FitConfig, FitStart, MvMMFit, fit_mvmm
from .placement import (
    DEFAULT_ANGLES,
    DEFAULT_SCALES,
    PlacementSearch,
    place_atlas,
    search_atlas_offset,
)
from .settings import (
    Settings,
    components,
    fit_config,
    phantom_pixel_mm,
    pixel_scale,
    roi_margin,
)
from .transforms import AtlasAffine, StackRigid

__all__ = [
    "AtlasCases",
    "Experiment",
    "FitInputs",
    "fit_experiment",
    "initial_atlas_transform",
    "label_atlas",
    "make_experiment",
    "prepare_fit",
    "true_transform",
]


@dataclass
class AtlasCases:
    """Labelled cases the atlas is averaged from (never the evaluated case).

    Attributes:
        class_maps: MvMM class maps (``0..3``), each ``(Z, H, W)``.
        images: Their reference-sequence (bSSFP) images, same shapes.
    """

    class_maps: list[np.ndarray]
    images: list[np.ndarray]


@dataclass
class FitInputs:
    """What every MvMM fit of one stack shares.

    Attributes:
        images: ``(S, Z, H, W)`` sequences, each in its own space.
        slice_coverage: ``(S, Z)`` bool, the slices each sequence has.
        atlas: ``(K, Z, H, W)`` probabilistic atlas; atlas_init: its placement.
        mask: ``(Z, H, W)`` region of interest.
        active: ``(S, K, C)`` components per (sequence, class).
        config: The optimiser's configuration (:func:`.settings.fit_config`).
    """

    images: Tensor
    slice_coverage: Tensor
    atlas: Tensor
    atlas_init: AtlasAffine
    mask: Tensor
    active: Tensor
    config: FitConfig


@dataclass
class Experiment(FitInputs):
    """The phantom experiment: the fit's inputs and the misaligned case they came from."""

    case: MisalignedCase


def initial_atlas_transform(
    settings: Settings,
    scale: float,
    image: Tensor,
    atlas: Tensor,
    template: Tensor,
    info: dict[str, Any] | None = None,
) -> AtlasAffine:
    """Place the atlas on the reference stack as ``settings.atlas_placement`` says.

    The likelihood that scores placements uses one component per blood pool: a less flexible
    model is a more discriminative score (two blood components can absorb a misplaced
    myocardium, which sent the grid search astray on seed 2).

    Args:
        settings: Chapter settings (``atlas_placement``, ``atlas_scales``, ``atlas_search_*``).
        scale: Pixels of this grid per settings pixel.
        image: ``(1, Z, H, W)`` reference stack; atlas: ``(K, Z, H, W)``.
        template: ``(Z, H, W)`` the atlas cases' mean image (used by ``"template"`` only).
        info: Filled with the template placement's confidence (:func:`.place_atlas`).
    """
    active = active_from_counts(components(settings.bg_components, 1)[:1], device=image.device)
    pool = max(1, int(round(settings.atlas_search_pool_px * scale)))
    reach = settings.atlas_search_range_px * scale
    if settings.atlas_placement == "template":
        search = PlacementSearch(
            scales=settings.atlas_scales or DEFAULT_SCALES, max_shift_px=reach,
            margin_px=roi_margin(settings, scale), pool=pool,
            angles=DEFAULT_ANGLES if settings.atlas_angles is None else settings.atlas_angles,
        )  # fmt: skip
        placed = place_atlas(image, atlas, template, active, search, info)
        return placed.per_slice(image.shape[1])
    if settings.atlas_placement == "grid":
        return search_atlas_offset(
            image, atlas, active, max_shift_px=reach,
            step_px=settings.atlas_search_step_px * scale,
            scales=settings.atlas_scales or (0.85, 1.0, 1.15), pool=pool,
        )  # fmt: skip
    raise ValueError(
        f"atlas_placement must be 'grid' or 'template', got {settings.atlas_placement!r}"
    )


def prepare_fit(
    settings: Settings,
    images: Tensor,
    slice_coverage: Tensor,
    cases: AtlasCases,
    scale: float,
    info: dict[str, Any] | None = None,
) -> FitInputs:
    """Atlas from ``cases``, its placement on ``images[0]``, the ROI and the fit configuration.

    Args:
        settings: Chapter settings.
        images: ``(S, Z, H, W)`` the stack to fit; slice_coverage: ``(S, Z)``.
        cases: The atlas cases (never the evaluated case).
        scale: Pixels of this grid per settings pixel (:func:`.settings.pixel_scale`).
        info: Filled with the placement's confidence (:func:`.place_atlas`).
    """
    device = images.device
    atlas = probabilistic_atlas(
        [centre_on_heart(m) for m in cases.class_maps], sigma=settings.atlas_sigma * scale,
        floor=settings.atlas_floor, device=device,
    )  # fmt: skip
    active = active_from_counts(
        components(settings.bg_components, settings.blood_components), device=device
    )
    template = intensity_template(cases.images, cases.class_maps, device=device)
    init = initial_atlas_transform(settings, scale, images[:1], atlas, template, info)
    mask = roi_mask(init.warp(atlas), margin=roi_margin(settings, scale))
    config = fit_config(settings, scale)
    return FitInputs(images, slice_coverage, atlas, init, mask, active, config)


def _phantom_atlas_cases(settings: Settings, seed: int) -> AtlasCases:
    """``n_atlas`` other phantoms (seeds far from the evaluated case's).

    With ``native_resolution`` their reference images are acquired natively too
    (:func:`.data.native.native_in_place`), so the placement's template has the blur and
    slabs of the images it is matched against.
    """
    seeds = [10_000 + 97 * seed + i for i in range(settings.n_atlas)]
    cases = [
        simulate_case(
            s, size=settings.size, n_slices=settings.n_slices, pixel_mm=phantom_pixel_mm(settings)
        )  # fmt: skip
        for s in seeds
    ]
    reference = SEQUENCES[0]
    if settings.native_resolution:
        images = [native_in_place(c, reference, s + 1) for c, s in zip(cases, seeds, strict=True)]
    else:
        images = [c.images[reference] for c in cases]
    return AtlasCases([tissue_classes(c.labels) for c in cases], images)


def make_experiment(
    settings: Settings,
    seed: int,
    device: torch.device,
    missing: dict[str, float] | None = None,
    base: Experiment | None = None,
) -> Experiment:
    """Phantom stack, misalignment, atlas from other phantoms, atlas placement and ROI.

    With ``base`` (an experiment on the same phantom), its atlas, atlas initialisation and ROI
    are reused: the reference sequence, hence the common space, is the same.
    """
    scale = pixel_scale(phantom_pixel_mm(settings))
    case = simulate_case(
        seed, size=settings.size, n_slices=settings.n_slices, pixel_mm=phantom_pixel_mm(settings)
    )
    mis = misalign(
        case, seed + 1, max_angle_deg=settings.max_angle_deg,
        max_shift_px=settings.max_shift_px * scale,
        slice_shift_px=settings.slice_shift_px * scale, missing=missing or {},
    )  # fmt: skip
    mis = misalign_native_like(case, mis) if settings.native_resolution else mis
    images = torch.tensor(np.stack([mis.images[s] for s in SEQUENCES]), device=device)
    cover = torch.tensor(np.stack([mis.coverage[s] for s in SEQUENCES]), device=device)
    if base is not None:
        return dataclasses.replace(base, case=mis, images=images, slice_coverage=cover)
    inputs = prepare_fit(settings, images, cover, _phantom_atlas_cases(settings, seed), scale)
    return Experiment(**vars(inputs), case=mis)


def fit_experiment(inputs: FitInputs, sequences: list[int] | None = None, **config: Any) -> MvMMFit:
    """Fit the MvMM to some (default all) sequences; ``config`` overrides :class:`FitConfig`."""
    idx = list(range(inputs.images.shape[0])) if sequences is None else sequences
    return fit_mvmm(
        inputs.images[idx], inputs.atlas, inputs.active[idx],
        slice_coverage=inputs.slice_coverage[idx], mask=inputs.mask,
        config=dataclasses.replace(inputs.config, **config),
        start=FitStart(atlas_transform=inputs.atlas_init),
    )  # fmt: skip


def label_atlas(
    settings: Settings, labels: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A case's own labels as its atlas, smoothed like the chapter's, and that atlas's ROI.

    The perfect prior of the benchmarks' bounds (``benchmarks/bench_mvmm_atlas_bound.py``,
    ``benchmarks/bench_mvmm_factorisation.py``): fitted with the identity atlas transform.

    Returns:
        ``(atlas (K, Z, H, W), mask (Z, H, W))``.
    """
    scale = pixel_scale(phantom_pixel_mm(settings))
    atlas = probabilistic_atlas(
        tissue_classes(labels), sigma=settings.atlas_sigma * scale,
        floor=settings.atlas_floor, device=device,
    )  # fmt: skip
    return atlas, roi_mask(atlas, margin=roi_margin(settings, scale))


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

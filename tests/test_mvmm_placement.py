"""Initial atlas placement: template matching proposes, the MvMM likelihood chooses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zmic_lessons.core.metrics import dice
from zmic_lessons.data.cardiac import simulate_case
from zmic_lessons.mvmm.atlas import (
    MYO_K,
    centre_on_heart,
    heart_offset,
    intensity_template,
    probabilistic_atlas,
    roi_mask,
    shift_pixels,
    tissue_classes,
)
from zmic_lessons.mvmm.model import active_from_counts
from zmic_lessons.mvmm.placement import (
    PlacementSearch,
    best_by_likelihood,
    place_atlas,
    scaled_affine,
    template_candidates,
)
from zmic_lessons.mvmm.settings import components
from zmic_lessons.mvmm.transforms import AtlasAffine

SIZE, N_SLICES = 64, 2


@pytest.fixture(scope="module")
def atlas_case():
    case = simulate_case(11, size=SIZE, n_slices=N_SLICES, pixel_mm=3.0)
    classes = tissue_classes(case.labels)
    atlas = probabilistic_atlas(centre_on_heart(classes), sigma=0.5, floor=1e-6)
    template = intensity_template([case.images["bssfp"]], [classes])
    return atlas, template


def active():
    return active_from_counts(components(3, 1)[:1])


def test_template_is_centred_like_the_atlas(atlas_case):
    case = simulate_case(11, size=SIZE, n_slices=N_SLICES, pixel_mm=3.0)
    classes = tissue_classes(case.labels)
    dy, dx = heart_offset(classes)
    assert heart_offset(centre_on_heart(classes)) == (0, 0)
    expected = shift_pixels(case.images["bssfp"], dy, dx)
    np.testing.assert_allclose(atlas_case[1].numpy(), expected, rtol=1e-6)


def test_known_scale_and_shift_are_recovered(atlas_case):
    atlas, template = atlas_case
    truth = scaled_affine(1.12, torch.tensor([6.0, -8.0]))
    target = truth.warp(template[None])[0]
    region = roi_mask(atlas, margin=3)
    scored = template_candidates(
        target, template, region, scales=(1.0, 1.12, 1.24), max_shift_px=12
    )
    nccs = [n for n, _ in scored]
    assert int(np.argmax(nccs)) == 1 and nccs[1] > 0.99
    # the likelihood alone prefers the larger atlas: why NCC filters the candidates first
    alone = best_by_likelihood(target[None], atlas, active(), [t for _, t in scored])
    assert alone.linear[0, 0] < truth.linear[0, 0]
    search = PlacementSearch(scales=(1.0, 1.12, 1.24), max_shift_px=12, margin_px=3)
    found = place_atlas(target[None], atlas, template, active(), search)
    torch.testing.assert_close(found.linear, truth.linear)
    torch.testing.assert_close(found.shift, truth.shift, atol=1e-5, rtol=0)


def test_atlas_from_another_case_lands_on_the_heart(atlas_case):
    atlas, template = atlas_case
    target = simulate_case(4, size=SIZE, n_slices=N_SLICES, pixel_mm=3.0)
    image = torch.tensor(target.images["bssfp"])[None]
    truth = tissue_classes(target.labels) == MYO_K
    placed = place_atlas(
        image, atlas, template, active(), PlacementSearch(max_shift_px=12, margin_px=3)
    )
    before = dice(atlas.argmax(0).numpy() == MYO_K, truth)
    after = dice(placed.warp(atlas).argmax(0).numpy() == MYO_K, truth)
    print(f"prior myocardium Dice: centred {before:.3f}, placed {after:.3f}")
    assert after > 0.5 and after > before + 0.2


def test_shape_mismatch_is_reported(atlas_case):
    atlas, template = atlas_case
    with pytest.raises(ValueError, match="share a shape"):
        template_candidates(template[:1], template, roi_mask(atlas))


def test_per_slice_shift_moves_each_slice_on_its_own(atlas_case):
    atlas, _ = atlas_case
    shared = scaled_affine(1.1, torch.tensor([2.0, -4.0]))
    per_slice = AtlasAffine(shared.linear, shared.shift.expand(N_SLICES, 2).clone())
    torch.testing.assert_close(per_slice.warp(atlas), shared.warp(atlas))
    per_slice.shift[1] += torch.tensor([0.0, 3.0])
    moved = per_slice.warp(atlas)
    torch.testing.assert_close(moved[:, 0], shared.warp(atlas)[:, 0])
    other = AtlasAffine(shared.linear, shared.shift + torch.tensor([0.0, 3.0]))
    torch.testing.assert_close(moved[:, 1], other.warp(atlas)[:, 1])
    with pytest.raises(ValueError, match="per-slice shift"):
        AtlasAffine(shared.linear, torch.zeros(N_SLICES + 1, 2)).warp(atlas)


def test_scaled_affine_turns_the_atlas_content():
    from zmic_lessons.mvmm.placement import scaled_affine

    atlas = torch.zeros(1, 1, 41, 41)
    atlas[0, 0, 20, 30] = 1.0  # a point 10 px right of the centre
    turned = scaled_affine(1.0, angle_deg=90.0, like=atlas).warp(atlas)[0, 0]
    y, x = divmod(int(turned.argmax()), 41)
    # R(90 deg) = [[0, -1], [1, 0]] on (y, x) takes (0, +10) to (-10, 0): above the centre
    assert (y, x) == (10, 20)

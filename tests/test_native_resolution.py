"""Each sequence at its own resolution (issue #15): native acquisition, affines, common space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zmic_lessons.data.cardiac import simulate_case
from zmic_lessons.data.datasets import DatasetCase, MSCMRSeg, resample_to
from zmic_lessons.data.labels import LV, MYO
from zmic_lessons.data.layouts import write_phantom_dataset
from zmic_lessons.data.native import (
    MSCMR_PROTOCOL,
    SequenceProtocol,
    common_affine,
    kspace_resize,
    misalign_native,
    native_in_place,
    native_slices,
)
from zmic_lessons.io import affine_from_spacing
from zmic_lessons.mvmm import chapter
from zmic_lessons.mvmm.common_space import common_stack
from zmic_lessons.mvmm.real_data import fit_mscmrseg

# ----------------------------------------------------------------- resampling through affines


def _grid_points(shape, affine):
    """World (x, y, z) of every voxel centre of an array-order ``shape`` grid."""
    idx = np.indices(shape[::-1], dtype=float).reshape(3, -1)  # (i, j, k) = (x, y, z)
    world = affine[:3, :3] @ idx + affine[:3, 3:4]
    return [w.reshape(shape[::-1]).T for w in world]  # each (z, y, x)


GRID_A = ((6, 40, 44), affine_from_spacing((8.0, 1.25, 1.25), origin=(0.3, -1.1, 2.0)))
GRID_B = ((9, 70, 64), affine_from_spacing((5.0, 0.75, 0.8), origin=(-2.4, 0.9, 0.5)))
COMMON = ((5, 34, 34), affine_from_spacing((8.0, 1.5, 1.5), origin=(1.0, 1.0, 6.0)))


def test_a_linear_field_is_reproduced_exactly_inside_both_grids():
    # linear interpolation reproduces a linear function of world position exactly
    def field(x, y, z):
        return 0.3 * x - 0.7 * y + 0.11 * z + 5.0

    x, y, z = _grid_points(*COMMON)
    inside = (x > 3) & (x < 46) & (y > 3) & (y < 46) & (z > 6) & (z < 40)
    for shape, affine in (GRID_A, GRID_B):
        values = field(*_grid_points(shape, affine))
        out = resample_to(values, affine, COMMON[0], COMMON[1], order=1)
        np.testing.assert_allclose(out[inside], field(x, y, z)[inside], atol=1e-9)


@pytest.mark.parametrize("grid", [GRID_A, GRID_B])
def test_a_box_edge_lands_within_half_a_voxel_on_the_common_grid(grid):
    lo, hi = 12.3, 31.7  # the box's x extent (mm); y and z wide
    shape, affine = grid
    x, y, z = _grid_points(shape, affine)
    box = ((x >= lo) & (x <= hi) & (y > 8) & (y < 40)).astype(np.uint8)
    out = resample_to(box, affine, COMMON[0], COMMON[1], order=0)
    cx, _, _ = _grid_points(*COMMON)
    row = out[2, 17]
    edges = cx[2, 17][row > 0]
    src_half = affine[0, 0] / 2
    tol = COMMON[1][0, 0] / 2 + src_half
    assert abs(edges.min() - lo) <= tol
    assert abs(edges.max() - hi) <= tol


def test_slicewise_resampling_takes_one_source_slice_per_target_slice():
    # 16 mm slabs onto 8 mm slices: a target slice between two slab centres is a copy of the
    # nearer slab (a blend would mix two breath-holds), while linear resampling averages them
    source = np.stack([np.full((6, 6), 1.0), np.full((6, 6), 5.0)])
    src_affine = affine_from_spacing((16.0, 1.0, 1.0))
    target = affine_from_spacing((8.0, 1.0, 1.0), origin=(0.0, 0.0, 7.0))
    both = resample_to(source, src_affine, (2, 6, 6), target)
    one = resample_to(source, src_affine, (2, 6, 6), target, slicewise=True)
    np.testing.assert_allclose(both[0], 1.0 + 4.0 * 7.0 / 16.0)
    np.testing.assert_allclose(one[0], 1.0)  # 7 mm is nearer slab 0 (0 mm) than slab 1 (16)
    np.testing.assert_allclose(one[1], 5.0)  # 15 mm
    # in-plane it still interpolates
    shifted = affine_from_spacing((8.0, 1.0, 1.0), origin=(0.5, 0.0, 0.0))
    ramp = np.broadcast_to(np.arange(6.0), (2, 6, 6))
    out = resample_to(ramp, src_affine, (2, 6, 6), shifted, slicewise=True)
    np.testing.assert_allclose(out[0, :, :5], ramp[0, :, :5] + 0.5)


def test_an_index_path_misaligns_what_the_affines_align():
    # the same world disc on two grids of different voxel size and origin
    def disc(shape, affine):
        x, y, _ = _grid_points(shape, affine)
        return (((x - 30.0) ** 2 + (y - 26.0) ** 2) < 8.0**2).astype(np.float32)

    shape_b, aff_b = (1, 80, 80), affine_from_spacing((8.0, 0.75, 0.75), origin=(-3.0, 4.0, 0))
    shape_a, aff_a = (1, 48, 48), affine_from_spacing((8.0, 1.25, 1.25), origin=(0.5, 0.5, 0))
    a, b = disc(shape_a, aff_a), disc(shape_b, aff_b)
    case = DatasetCase(
        "two", {"bssfp": a, "t2": a, "lge": b}, {}, {}, {},
        affine={"bssfp": aff_a, "t2": aff_a, "lge": aff_b},
    )  # fmt: skip
    stack = common_stack(case)
    assert stack.resampled == ["lge"]
    assert stack.coverage.all()

    def centre(img):
        return np.argwhere(img[0] > 0.5).mean(0)

    # through the affines: the disc lands where bSSFP has it (within half a voxel)
    assert np.abs(centre(stack.images[2]) - centre(stack.images[0])).max() < 0.5
    # by index (crop the finer array to the bSSFP shape): several voxels off
    by_index = b[:, : shape_a[1], : shape_a[2]]
    assert np.abs(centre(by_index) - centre(a)).max() > 3.0


def test_a_case_without_affines_and_different_shapes_is_refused():
    case = DatasetCase(
        "x", {"bssfp": np.ones((2, 8, 8)), "t2": np.ones((1, 8, 8)), "lge": np.ones((2, 8, 8))},
        {}, {}, {},
    )  # fmt: skip
    with pytest.raises(ValueError, match="no affines"):
        common_stack(case)


# ----------------------------------------------------------------- native acquisition


def test_kspace_resize_keeps_the_mean_and_a_band_limited_wave():
    n, m = 64, 40
    x = np.arange(n)
    wave = 2.0 + np.cos(2 * np.pi * 3 * x / n)[None, :] * np.ones((n, 1))
    out = kspace_resize(wave[None], m)
    assert out.shape == (1, m, m)
    xs = np.arange(m) * n / m
    np.testing.assert_allclose(out[0, 5], 2.0 + np.cos(2 * np.pi * 3 * xs / n), atol=1e-5)
    with pytest.raises(ValueError, match="acquisition matrix"):
        kspace_resize(wave[None], n + 1)


@pytest.fixture(scope="module")
def stack_case():
    return simulate_case(4, size=64, n_slices=4, pixel_mm=3.0)


@pytest.fixture(scope="module")
def native_case(stack_case):
    return misalign_native(stack_case, 5, max_shift_px=2.0, slice_shift_px=0.5)


def test_each_sequence_has_its_own_grid_and_affine(stack_case, native_case):
    fov = 64 * 3.0
    for name, seq in native_case.native.items():
        p = MSCMR_PROTOCOL[name]
        n = min(round(fov / p.pixel_mm), 128)  # capped at the fine grid (1.5 mm here)
        assert seq.image.shape == (native_slices(stack_case, p), n, n)
        assert seq.labels.shape == seq.image.shape
        np.testing.assert_allclose(np.diag(seq.affine)[:3], [fov / n, fov / n, p.slice_mm])
        assert native_case.images[name].shape == stack_case.labels.shape
    assert native_case.native["t2"].image.shape[0] < native_case.native["lge"].image.shape[0]
    shapes = {seq.image.shape for seq in native_case.native.values()}
    assert len(shapes) == 3


def test_the_slabs_are_centred_on_the_case_stack(stack_case, native_case):
    z_common = common_affine(stack_case)[2, 3] + 8.0 * 1.5  # centre of the 4 x 8 mm stack
    for seq in native_case.native.values():
        n = seq.image.shape[0]
        assert seq.affine[2, 3] + (n - 1) / 2 * seq.protocol.slice_mm == pytest.approx(z_common)


def test_the_true_transforms_bring_each_sequence_back_to_the_labels(stack_case, native_case):
    from zmic_lessons.data.acquisition import resample_to_common

    truth = stack_case.labels
    for name in native_case.labels:
        back = np.stack(
            [resample_to_common(native_case.labels[name][z], t, order=0)
             for z, t in enumerate(native_case.transforms[name])]
        )  # fmt: skip
        for label in (LV, MYO):
            a, b = back == label, truth == label
            assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.6, (name, label)
    reference = native_case.transforms["bssfp"]
    assert all(t.angle == 0 and t.shift == (0.0, 0.0) for t in reference)


def test_a_sequence_acquired_in_place_lands_on_the_case_grid(stack_case):
    image = native_in_place(stack_case, "bssfp", 3)
    assert image.shape == stack_case.labels.shape and np.isfinite(image).all()
    # no motion: the native bSSFP agrees with the one-grid bSSFP of the same heart
    same = np.corrcoef(image.ravel(), stack_case.images["bssfp"].ravel())[0, 1]
    assert same > 0.8
    np.testing.assert_array_equal(image, native_in_place(stack_case, "bssfp", 3))


def test_the_native_chapter_builds_its_template_from_native_atlas_cases():
    from zmic_lessons.core.budget import select
    from zmic_lessons.mvmm.experiment import _phantom_atlas_cases

    grid = select("quick", chapter.BUDGETS)
    native = select("quick", chapter.BUDGETS, native_resolution=True)
    a, b = _phantom_atlas_cases(grid, 0), _phantom_atlas_cases(native, 0)
    for la, lb in zip(a.class_maps, b.class_maps, strict=True):
        np.testing.assert_array_equal(la, lb)  # the same hearts and labels
    assert not np.allclose(a.images[0], b.images[0])  # imaged as the case is


def test_a_single_slice_case_gets_one_slab_per_sequence():
    case = simulate_case(2, size=48, pixel_mm=4.0)
    mis = misalign_native(case, 0, protocol={k: SequenceProtocol(4.0, 8.0) for k in case.images})
    for seq in mis.native.values():
        assert seq.image.shape == (1, 48, 48)
    assert all(mis.coverage[k].all() for k in mis.coverage)


# ----------------------------------------------------------------- files and the MvMM


def test_the_mscmrseg_layout_writes_native_shapes_and_affines(tmp_path):
    root = write_phantom_dataset(
        "mscmrseg", tmp_path, cases=2, seed=0, size=48, n_slices=3, native_resolution=True
    )
    case = MSCMRSeg(root)[0]
    shapes = {k: case.images[k].shape for k in ("bssfp", "t2", "lge")}
    assert len(set(shapes.values())) == 3
    assert not np.allclose(case.affine["bssfp"], case.affine["lge"])
    stack = common_stack(case)
    assert stack.images.shape[1:] == shapes["bssfp"]
    # LGE labels through the affines agree with the bSSFP labels on the bSSFP grid
    moved = case.resampled("lge", "bssfp", labels=True)
    ref = case.labels["bssfp"]
    a, b = moved == LV, ref == LV
    assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.7
    with pytest.raises(ValueError, match="native_resolution"):
        write_phantom_dataset("myops", tmp_path / "m", cases=1, seed=0, native_resolution=True)


def test_the_mvmm_fits_an_mscmrseg_folder_with_native_grids(tmp_path):
    root = write_phantom_dataset(
        "mscmrseg", tmp_path, cases=2, seed=1, size=48, n_slices=3, native_resolution=True
    )
    settings = chapter.BUDGETS["quick"]
    real = fit_mscmrseg(settings, root, torch.device("cpu"))
    assert real.fit.segmentation.shape == real.labels.shape
    assert 0.0 <= real.metrics["dice_myo_mvmm"] <= 1.0
    # the chapter (and so `zmic-lessons run mvmm --data`) routes an MS-CMRSeg folder here
    results = chapter.run("quick", "cpu", seed=0, data=root)
    assert results.artifacts.real.case == real.case
    assert results.metrics["dice_myo_mvmm"] == real.metrics["dice_myo_mvmm"]


def test_the_chapter_runs_with_native_resolution_on():
    results = chapter.run(
        "quick", "cpu", seed=0, data=None, out=None, run_regnet=False, native_resolution=True
    )
    case = results.artifacts.experiment.case
    assert case.native is not None
    assert set(case.native) == {"bssfp", "t2", "lge"}
    assert 0.0 <= results.metrics["dice_myo_mvmm"] <= 1.0

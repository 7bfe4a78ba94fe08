"""The LAScarQS evaluation and AtrialGeneral's histogram matching, pinned on known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from zmic_lessons.atrial import evaluate_scar_files, histogram_match, la_metrics, scar_metrics
from zmic_lessons.atrial.harmonise import centre_roi, zscore
from zmic_lessons.data.atrial import project_scar_to_surface
from zmic_lessons.io import write_nifti


def _radius_mm(shape, spacing, centre_mm=None):
    """Distance (mm) of every voxel centre from the box centre (or ``centre_mm``)."""
    axes = [np.arange(n) * s for n, s in zip(shape, spacing, strict=True)]
    c = centre_mm if centre_mm is not None else [a[-1] / 2 for a in axes]
    grids = np.meshgrid(*axes, indexing="ij")
    return np.sqrt(sum((g - ci) ** 2 for g, ci in zip(grids, c, strict=True)))


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.8, 0.8), (1.5, 1.0, 0.6)])
def test_concentric_spheres_give_the_gap_in_mm(spacing):
    shape = tuple(int(round(64 / s)) for s in spacing)
    r = _radius_mm(shape, spacing)
    inner, outer = r < 14.0, r < 20.0
    m = la_metrics(inner, outer, spacing)
    # every surface point of one sphere lies 6 mm from the other, up to a voxel of discretisation
    tol = max(spacing)
    assert abs(m["hd_mm"] - 6.0) <= tol
    assert abs(m["assd_mm"] - 6.0) <= tol
    assert m["hd95_mm"] <= m["hd_mm"] + 1e-9
    assert m["dice"] == pytest.approx(2 * inner.sum() / (inner.sum() + outer.sum()))


def test_distances_scale_with_the_spacing():
    rng = np.random.default_rng(0)
    a = np.zeros((20, 24, 24), dtype=bool)
    a[4:-4, 4:-4, 4:-4] = ndimage.binary_dilation(rng.random((12, 16, 16)) > 0.99, iterations=2)
    b = np.roll(a, 2, axis=2)  # no wrap-around: the border is empty
    iso = la_metrics(a, b, (1.0, 1.0, 1.0))
    twice = la_metrics(a, b, (2.0, 2.0, 2.0))
    assert twice["hd_mm"] == pytest.approx(2 * iso["hd_mm"])
    assert twice["assd_mm"] == pytest.approx(2 * iso["assd_mm"])
    # a shift along x only is measured in x's voxel size
    aniso = la_metrics(a, b, (5.0, 5.0, 0.5))
    assert aniso["hd_mm"] <= 1.0 + 1e-9


def _monai_distances(pred, gt, spacing):
    """MONAI's edges (erosion XOR mask) and exact KD-tree surface distances, both directions.

    The uncropped low-level functions: ``compute_average_surface_distance`` crops to the
    foreground first, which moved its ASSD by about 0.2 % on these shapes.
    """
    utils = pytest.importorskip("monai.metrics.utils")
    edges_p, edges_g = utils.get_mask_edges(pred, gt, crop=False)
    p_to_g = np.asarray(utils.get_surface_distance(edges_p, edges_g, spacing=spacing))
    g_to_p = np.asarray(utils.get_surface_distance(edges_g, edges_p, spacing=spacing))
    hd = max(p_to_g.max(), g_to_p.max())
    return float(hd), float(np.concatenate([p_to_g, g_to_p]).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distances_agree_with_monai_on_random_shapes(seed):
    rng = np.random.default_rng(seed)
    spacing = tuple(float(s) for s in rng.uniform(0.5, 2.5, size=3))
    shape = (24, 28, 30)
    blobs = []
    for _ in range(2):
        field = ndimage.gaussian_filter(rng.normal(size=shape), 2.5)
        mask = field > np.quantile(field, 0.8)
        mask[:2], mask[-2:], mask[:, :2], mask[:, -2:], mask[..., :2], mask[..., -2:] = (0,) * 6
        blobs.append(mask)
    ours = la_metrics(blobs[0], blobs[1], spacing)
    hd, assd = _monai_distances(blobs[0], blobs[1], spacing)
    assert ours["hd_mm"] == pytest.approx(hd, rel=1e-5)
    # ASSD as core.metrics defines it: the mean of the pooled distances of both directions
    assert ours["assd_mm"] == pytest.approx(assd, rel=1e-5)


def _sphere_with_scar(shape=(40, 40, 40), shift=0):
    r = _radius_mm(shape, (1.0, 1.0, 1.0))
    x = np.arange(shape[2])[None, None, :]
    la = r < 12
    scar = (r >= 12 + shift) & (r < 14 + shift) & (x > 24)
    return la, scar


def test_projection_puts_every_scar_voxel_on_the_surface():
    la, scar = _sphere_with_scar()
    surface, projected = project_scar_to_surface(la, scar, (1.0, 1.0, 1.0), radius_mm=2.5)
    assert projected.any()
    assert not (projected & ~surface).any()
    assert not (surface & ~la).any()
    # the surface is the cavity voxels with a face-neighbour outside
    assert (surface == (la & ~ndimage.binary_erosion(la))).all()


def test_one_voxel_along_the_normal_keeps_the_surface_dice_not_the_volume_dice():
    la, scar = _sphere_with_scar()
    _, moved = _sphere_with_scar(shift=1)
    volume_dice = 2 * (scar & moved).sum() / (scar.sum() + moved.sum())
    m = scar_metrics(moved, scar, la, (1.0, 1.0, 1.0), radius_mm=2.5)
    assert volume_dice < 0.75
    assert m["dice"] > 0.9


def test_scar_metrics_perfect_empty_and_counts():
    la, scar = _sphere_with_scar()
    perfect = scar_metrics(scar, scar, la, (1.0, 1.0, 1.0))
    for key in ("dice", "accuracy", "sensitivity", "specificity", "gdice"):
        assert perfect[key] == pytest.approx(1.0)
    none = scar_metrics(np.zeros_like(scar), scar, la, (1.0, 1.0, 1.0))
    assert none["dice"] == 0.0 and none["sensitivity"] == 0.0 and none["specificity"] == 1.0
    n_s, n = none["n_scar_surface"], none["n_surface"]
    assert none["accuracy"] == pytest.approx((n - n_s) / n)
    # GDice weighs the wall's Dice by its share of the surface
    dice_wall = 2 * (n - n_s) / (2 * (n - n_s) + n_s)
    assert none["gdice"] == pytest.approx((n - n_s) * dice_wall / n)


def test_scar_away_from_the_atrium_does_not_count():
    la, scar = _sphere_with_scar()
    far = np.zeros_like(scar)
    far[2:5, 2:5, 2:5] = True
    m = scar_metrics(scar | far, scar, la, (1.0, 1.0, 1.0))
    assert m["dice"] == pytest.approx(1.0)


def test_histogram_match_has_the_reference_histogram_and_is_idempotent():
    rng = np.random.default_rng(0)
    image = rng.gamma(2.0, 1.0, size=(20, 30, 30)) ** 1.7
    reference = rng.normal(0.0, 1.0, size=(24, 28, 28))
    matched = histogram_match(image, reference)
    assert matched.shape == image.shape
    q = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(np.quantile(matched, q), np.quantile(reference, q), atol=0.03)
    # Kolmogorov-Smirnov distance between the two empirical distributions
    grid = np.sort(reference.ravel())
    cdf_m = np.searchsorted(np.sort(matched.ravel()), grid, side="right") / matched.size
    cdf_r = np.arange(1, grid.size + 1) / grid.size
    assert np.abs(cdf_m - cdf_r).max() < 0.01
    np.testing.assert_allclose(histogram_match(matched, reference), matched, atol=1e-5)
    # monotone: the order of the intensities is kept
    order = np.argsort(image.ravel())
    assert np.all(np.diff(matched.ravel()[order]) >= -1e-6)


def test_histogram_match_agrees_with_skimage():
    exposure = pytest.importorskip("skimage.exposure")
    rng = np.random.default_rng(1)
    image = np.round(rng.normal(size=(10, 16, 16)), 2)
    reference = rng.exponential(size=(12, 16, 16))
    np.testing.assert_allclose(
        histogram_match(image, reference), exposure.match_histograms(image, reference), atol=1e-5
    )


def test_zscore_and_centre_roi():
    rng = np.random.default_rng(2)
    z = zscore(rng.uniform(3, 9, size=(5, 6, 7)))
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std()) - 1) < 1e-4
    vol = np.arange(6 * 8 * 10).reshape(6, 8, 10)
    crop = centre_roi(vol, (4, 4, 4))
    np.testing.assert_array_equal(crop, vol[1:5, 2:6, 3:7])
    padded = centre_roi(vol, (8, 8, 12), fill=-1)
    np.testing.assert_array_equal(padded[1:7, :, 1:11], vol)
    assert (padded[0] == -1).all()


def _write_case(path, la, scar, spacing):
    labels = np.where(scar, 3, np.where(la, 1, 0))
    write_nifti(path, labels.astype(np.uint8), spacing=spacing)


def test_evaluate_scar_files_reads_the_spacing(tmp_path):
    la, scar = _sphere_with_scar()
    spacing = (2.0, 1.0, 0.5)
    _write_case(tmp_path / "gt.nii.gz", la, scar, spacing)
    shifted = np.roll(la, 2, axis=2)
    _write_case(tmp_path / "pred.nii.gz", shifted, scar, spacing)
    m = evaluate_scar_files(tmp_path / "pred.nii.gz", tmp_path / "gt.nii.gz")
    direct = la_metrics(shifted & ~scar, la, spacing)  # scar wins where both are written
    assert m["la_dice"] == pytest.approx(direct["dice"])
    assert m["la_hd_mm"] == pytest.approx(direct["hd_mm"])
    assert m["la_hd_mm"] <= 1.0 + 1e-9  # two voxels of 0.5 mm along x
    assert m["scar_dice"] == pytest.approx(1.0)
    assert 0 < m["scar_n_scar_surface"] < m["scar_n_surface"]


def test_evaluate_scar_files_errors_name_the_file(tmp_path):
    la, scar = _sphere_with_scar()
    _write_case(tmp_path / "gt.nii.gz", la, scar, (1.0, 1.0, 1.0))
    _write_case(tmp_path / "small.nii.gz", la[:-2], scar[:-2], (1.0, 1.0, 1.0))
    _write_case(tmp_path / "empty.nii.gz", la & False, scar & False, (1.0, 1.0, 1.0))
    with pytest.raises(FileNotFoundError, match="missing.nii.gz"):
        evaluate_scar_files(tmp_path / "missing.nii.gz", tmp_path / "gt.nii.gz")
    with pytest.raises(ValueError, match="small.nii.gz"):
        evaluate_scar_files(tmp_path / "small.nii.gz", tmp_path / "gt.nii.gz")
    with pytest.raises(ValueError, match="empty.nii.gz.*no LA cavity"):
        evaluate_scar_files(tmp_path / "gt.nii.gz", tmp_path / "empty.nii.gz")

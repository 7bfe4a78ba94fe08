"""Properties of the 3D left-atrium LGE phantom."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from zmic_lessons.data.atrial import (
    ATRIAL_CENTRES,
    LA_BLOOD,
    LA_SCAR,
    LA_WALL,
    project_scar_to_surface,
    simulate_atrium,
)


@pytest.fixture(scope="module")
def fine_case():
    """A sub-millimetre crop around the LA, where wall thickness can be measured."""
    return simulate_atrium(1, shape=(72, 100, 100), spacing_mm=0.6, scar_fraction=0.25)


@pytest.fixture(scope="module")
def cases():
    return [simulate_atrium(s, shape=64, spacing_mm=1.5) for s in range(3)]


def test_shapes_dtypes_and_label_codes(cases):
    case = cases[0]
    assert case.image.shape == case.labels.shape == case.surface.shape == (64, 64, 64)
    assert case.image.dtype == np.float32 and case.labels.dtype == np.uint8
    assert case.scar_surface.dtype == bool
    assert set(np.unique(case.labels)) == {0, LA_BLOOD, LA_WALL, LA_SCAR}
    assert case.spacing == (1.5, 1.5, 1.5)
    assert np.isfinite(case.image).all() and case.image.min() >= 0


def test_same_seed_same_volume_other_seed_other_volume():
    a = simulate_atrium(7, shape=40, spacing_mm=2.0)
    b = simulate_atrium(7, shape=40, spacing_mm=2.0)
    c = simulate_atrium(8, shape=40, spacing_mm=2.0)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_wall_is_thin(fine_case):
    blood = fine_case.labels == LA_BLOOD
    wall = fine_case.wall
    dist_to_blood = ndimage.distance_transform_edt(~blood, sampling=fine_case.spacing)
    thickness = dist_to_blood[wall]
    assert wall.sum() > 1000
    assert np.percentile(thickness, 95) <= 3.0, np.percentile(thickness, [50, 95, 99])
    assert np.median(thickness) <= 2.0


def test_scar_lies_on_the_wall(fine_case, cases):
    # at sub-millimetre spacing, scar sits in the thin band next to the blood pool
    dist = ndimage.distance_transform_edt(fine_case.labels != LA_BLOOD, sampling=fine_case.spacing)
    assert np.percentile(dist[fine_case.scar], 99) <= 3.0 + max(fine_case.spacing)
    for case in [fine_case, *cases]:
        assert case.scar.any()
        assert 0.02 < case.info["scar_fraction"] < 0.6
        # no scar away from the atrium: every scar patch touches the wall or the blood pool
        la_or_wall = (case.labels == LA_BLOOD) | (case.labels == LA_WALL)
        touching = ndimage.binary_dilation(la_or_wall, structure=np.ones((3, 3, 3), bool))
        patches, n = ndimage.label(case.scar, structure=np.ones((3, 3, 3), bool))
        touched = np.unique(patches[touching & case.scar])
        assert set(touched) - {0} == set(range(1, n + 1))


def test_scar_is_brighter_than_wall_and_blood_in_expectation(cases):
    scar = np.mean([c.image[c.scar].mean() for c in cases])
    blood = np.mean([c.image[c.labels == LA_BLOOD].mean() for c in cases])
    wall = np.mean([c.image[c.labels == LA_WALL].mean() for c in cases])
    assert scar > blood > wall


def test_no_scar_when_asked_and_surface_projection(cases):
    case = simulate_atrium(2, shape=48, spacing_mm=2.0, scar_fraction=0.0)
    assert not case.scar.any() and not case.scar_surface.any()
    for case in cases:
        assert not (case.surface & ~case.la).any()
        assert not (case.scar_surface & ~case.surface).any()
        assert case.scar_surface.any()


def test_projection_on_a_sphere():
    zz, yy, xx = np.mgrid[:40, :40, :40]
    r = np.sqrt((zz - 20.0) ** 2 + (yy - 20.0) ** 2 + (xx - 20.0) ** 2)
    la = r < 12
    scar = (r >= 12) & (r < 14) & (xx > 26)
    surface, projected = project_scar_to_surface(la, scar, (1.0, 1.0, 1.0), radius_mm=2.5)
    assert projected.any()
    assert (xx[projected] > 22).all()  # only the side where the scar is
    # moving the scar one voxel outwards keeps the projection nearly unchanged
    scar_out = (r >= 13) & (r < 15) & (xx > 26)
    _, projected_out = project_scar_to_surface(la, scar_out, (1.0, 1.0, 1.0), radius_mm=2.5)
    overlap = (projected & projected_out).sum() / projected.sum()
    assert overlap > 0.8
    assert surface.sum() > projected.sum()


def test_centres_share_the_anatomy_and_differ_in_acquisition():
    vols, ti = {}, {}
    for name in ("A", "B", "C", "D"):
        case = simulate_atrium(4, centre=name)
        assert case.spacing == ATRIAL_CENTRES[name].spacing_mm
        vols[name] = case.la.sum() * np.prod(case.spacing) / 1000.0  # mL
        ti[name] = case.info["ti_error"]
    for vol in vols.values():
        assert abs(vol - vols["B"]) / vols["B"] < 0.15, vols
    assert ti["D"] > max(ti["A"], ti["B"], ti["C"])  # the held-out centre sets TI late
    with pytest.raises(ValueError, match="unknown centre"):
        simulate_atrium(0, centre="Z")

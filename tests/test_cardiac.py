"""The cardiac phantom: contract, anatomy properties, physics contrasts on the images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from zmic_lessons.data.cardiac import (
    Anatomy,
    CardiacCase,
    regenerate_anatomy,
    render_mr,
    simulate_anatomy,
    simulate_case,
    simulate_cases,
)
from zmic_lessons.data.labels import (
    BACKGROUND,
    EDEMA,
    LV,
    MYO,
    RV,
    SCAR,
    SEQUENCES,
    myocardium_mask,
    to_myops,
)

CROSS = ndimage.generate_binary_structure(2, 1)


@pytest.fixture(scope="module")
def cases() -> list[CardiacCase]:
    return [simulate_case(s, pathology=True) for s in range(12)]


def test_contract_shapes_and_types(cases):
    c = cases[0]
    assert set(c.images) == set(SEQUENCES)
    for img in c.images.values():
        assert img.dtype == np.float32 and img.shape == (1, 128, 128)
        assert np.isfinite(img).all() and img.min() > 0  # Rician noise: even air is not 0
        assert np.percentile(img, 99.5) == pytest.approx(1.0, rel=1e-3)
    assert c.labels.dtype == np.uint8 and c.labels.shape == (1, 128, 128)
    assert set(np.unique(c.labels)) <= {BACKGROUND, LV, MYO, RV, SCAR, EDEMA}
    assert c.spacing == (8.0, 1.5, 1.5)
    for key in ("tissues", "sequences", "snr", "acquisition", "preset", "pathology"):
        assert key in c.info
    assert c.info["sequences"]["lge"]["ti"] > 0


def test_same_seed_same_case_other_seed_other_case():
    a, b, c = simulate_case(7), simulate_case(7), simulate_case(8)
    for s in SEQUENCES:
        np.testing.assert_array_equal(a.images[s], b.images[s])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_simulate_cases_distinct():
    cs = simulate_cases(3, seed=1)
    assert len(cs) == 3
    assert not np.array_equal(cs[0].labels, cs[1].labels)


def test_lv_is_enclosed_by_myocardium(cases):
    for c in cases:
        lab = c.labels[0]
        lv = lab == LV
        assert lv.sum() > 200
        ring = ndimage.binary_dilation(lv, CROSS) & ~lv
        # the LV blood pool never touches background or RV (mid-ventricular slice)
        assert not np.isin(lab[ring], [BACKGROUND, RV]).any()
        assert myocardium_mask(lab[ring]).all()


def test_scar_and_edema_lie_in_the_myocardium(cases):
    seen = 0
    for c in cases:
        lab = c.labels[0]
        patho = np.isin(lab, [SCAR, EDEMA])
        if not patho.any():
            continue
        seen += 1
        heart = ndimage.binary_fill_holes(myocardium_mask(lab) | (lab == LV))
        assert heart[patho].all()
        assert not (patho & (lab == LV)).any()
        # pathology touches the myocardium ring, not the RV or LV cavity interior
        core_lv = ndimage.binary_erosion(lab == LV, CROSS, iterations=2)
        assert not (ndimage.binary_dilation(patho, CROSS) & core_lv).any()
    assert seen >= 8


def test_edema_wider_than_scar_for_ischaemic(cases):
    for c in cases:
        if c.info["pathology"]["kind"] != "ischaemic":
            continue
        lab = c.labels[0]
        if (lab == SCAR).sum() > 10:
            assert (lab == EDEMA).sum() > 0


def _region_mean(img, mask):
    inner = ndimage.binary_erosion(mask, CROSS)
    inner = inner if inner.sum() > 5 else mask  # thin scars: use every labelled pixel
    return float(img[inner].mean()) if inner.sum() > 5 else np.nan


def test_physics_contrasts_on_the_images(cases):
    ratios = {"bssfp": [], "lge": [], "t2": []}
    for c in cases:
        lab = c.labels[0]
        myo = lab == MYO
        b = c.images["bssfp"][0]
        ratios["bssfp"].append(_region_mean(b, lab == LV) / _region_mean(b, myo))
        if (lab == SCAR).sum() > 20:
            g = c.images["lge"][0]
            ratios["lge"].append(_region_mean(g, lab == SCAR) / _region_mean(g, myo))
        if (lab == EDEMA).sum() > 20:
            t = c.images["t2"][0]
            ratios["t2"].append(_region_mean(t, lab == EDEMA) / _region_mean(t, myo))
    assert np.nanmedian(ratios["bssfp"]) > 1.8  # bright blood, dark myocardium
    assert np.nanmedian(ratios["lge"]) > 2.0  # enhanced scar, nulled remote myocardium
    assert np.nanmedian(ratios["t2"]) > 1.15  # oedema brighter than remote
    assert len(ratios["lge"]) >= 4 and len(ratios["t2"]) >= 3


def test_lge_blood_between_myocardium_and_scar():
    c = simulate_case(3, pathology=True, preset="centre_a")
    lab, g = c.labels[0], c.images["lge"][0]
    myo, blood = _region_mean(g, lab == MYO), _region_mean(g, lab == LV)
    assert myo < blood


def test_no_pathology_option():
    c = simulate_case(5, pathology=False)
    assert not np.isin(c.labels, [SCAR, EDEMA]).any()
    assert c.info["pathology"]["kind"] == "none"


def test_stack_base_to_apex():
    c = simulate_case(11, n_slices=10, slice_mm=10.0)
    assert c.labels.shape == (10, 128, 128)
    assert all(img.shape == (10, 128, 128) for img in c.images.values())
    lv_area = (c.labels == LV).sum(axis=(1, 2))
    depth = np.array(c.info["depth_frac"])
    assert np.all(np.diff(depth) > 0)
    mid = (depth > 0.2) & (depth < 0.6)
    apical = depth > 0.85
    assert lv_area[mid].mean() > 2 * lv_area[apical].mean()
    rv_area = (c.labels == RV).sum(axis=(1, 2))
    assert rv_area[apical].sum() < 0.2 * rv_area[mid].mean() * max(1, apical.sum())
    # mid-ventricular slices keep the LV enclosed
    for z in np.flatnonzero((depth > 0.2) & (depth < 0.8)):
        lab = c.labels[z]
        lv = lab == LV
        ring = ndimage.binary_dilation(lv, CROSS) & ~lv
        assert not np.isin(lab[ring], [BACKGROUND, RV]).any()


def test_anatomy_and_render_reproduce_simulate_case():
    a = simulate_anatomy(4)
    assert isinstance(a, Anatomy)
    assert a.tissue.shape == (1, 256, 256) and a.labels.shape == (1, 128, 128)
    c1 = render_mr(a, 4)
    c2 = simulate_case(4)
    np.testing.assert_array_equal(c1.images["lge"], c2.images["lge"])
    np.testing.assert_array_equal(regenerate_anatomy(c2).tissue, a.tissue)


def test_preset_changes_appearance_not_anatomy():
    a, b = simulate_case(2, preset="default"), simulate_case(2, preset="centre_c")
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.allclose(a.images["bssfp"], b.images["bssfp"])
    assert b.info["tissues"]["myo"]["t1"] > 1.15 * a.info["tissues"]["myo"]["t1"]


def test_clean_images_have_no_noise_and_match_acquired():
    c = simulate_case(6)
    for s in SEQUENCES:
        clean, img = c.clean[s][0], c.images[s][0]
        r = np.corrcoef(clean.ravel(), img.ravel())[0, 1]
        assert r > 0.75, s
    # air outside the body is exactly zero before acquisition
    assert (c.clean["bssfp"] == 0).any()


def test_to_myops_codes(cases):
    m = to_myops(cases[0].labels)
    assert set(np.unique(m)) <= {0, 200, 500, 600, 1220, 2221}


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        simulate_case(-1)
    with pytest.raises(ValueError, match="unknown preset 'nowhere'"):
        simulate_case(0, preset="nowhere")
    with pytest.raises(ValueError, match="invalid geometry: size=4"):
        simulate_anatomy(0, size=4)
    with pytest.raises(ValueError, match="unknown sequence 'flair'"):
        render_mr(simulate_anatomy(0, size=16), 0, sequences=("flair",))

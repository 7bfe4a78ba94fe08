"""Domains: centre presets change the appearance through the physics; CT of the same anatomy."""

from __future__ import annotations

import numpy as np
import pytest

from zmic_lessons.data.acquisition import SequenceAcquisition, acquire
from zmic_lessons.data.cardiac import simulate_anatomy, simulate_case
from zmic_lessons.data.domains import (
    CENTRE_PRESETS,
    AcquisitionPreset,
    ct_window,
    get_preset,
    render_ct,
)
from zmic_lessons.data.labels import LV, MYO


def test_presets_are_named_and_resolvable():
    assert {"default", "centre_a", "centre_b", "centre_c", "centre_d"} <= set(CENTRE_PRESETS)
    assert get_preset("centre_b").resolution_mm == 2.2
    p = AcquisitionPreset(name="mine", field_t=3.0)
    assert get_preset(p) is p
    with pytest.raises(ValueError, match="unknown preset 'centre_z'; choose one of default"):
        get_preset("centre_z")


def test_low_dose_raises_post_contrast_t1_and_3t_raises_native_t1():
    a = simulate_case(1, preset="default")
    d = simulate_case(1, preset="centre_d")
    c = simulate_case(1, preset="centre_c")
    assert d.info["tissues"]["blood"]["t1_post"] > a.info["tissues"]["blood"]["t1_post"]
    assert c.info["tissues"]["blood"]["t1"] > 1.15 * a.info["tissues"]["blood"]["t1"]
    assert c.info["preset"]["field_t"] == 3.0


def test_coarse_resolution_preset_blurs():
    case = simulate_case(2, preset="centre_b")
    info = dict(case.info["acquisition"]["bssfp"])
    assert info["resolution_fraction"] < 0.7

    def grad_energy(settings: dict) -> float:
        s = SequenceAcquisition(**dict(settings, sigma=0.0, ghosting=0.0))
        img = acquire(case.clean["bssfp"], s, np.random.default_rng(0), pixel_mm=1.5)
        spec = np.abs(np.fft.fftshift(np.fft.fft2(img[0]))) ** 2
        fy, fx = np.meshgrid(np.linspace(-1, 1, 128), np.linspace(-1, 1, 128), indexing="ij")
        return float(spec[np.hypot(fy, fx) > 0.8].sum() / spec.sum())  # high-frequency share

    sharp = grad_energy(dict(info, resolution_fraction=1.0, kspace_fraction=1.0))
    assert grad_energy(info) < 0.2 * sharp


def test_ct_renders_the_same_anatomy_in_hounsfield_units():
    anat = simulate_anatomy(3)
    ct = render_ct(anat, seed=0)
    assert ct.shape == anat.labels.shape and ct.dtype == np.float32
    lab = anat.labels
    blood = np.median(ct[lab == LV])
    myo = np.median(ct[lab == MYO])
    assert blood > 200 and 50 < myo < 180 and blood > myo + 100
    assert ct.min() < -700  # lungs / air
    case = simulate_case(3)
    np.testing.assert_array_equal(case.labels, anat.labels)
    ct2 = render_ct(case, seed=0)  # regenerated from the case's seed
    np.testing.assert_allclose(ct2, ct)
    # the default window (level 100, width 700 HU) maps -250 HU to 0 and 450 HU to 1, linearly
    np.testing.assert_allclose(ct_window(np.array([-900.0, -250.0, 100.0, 450.0, 900.0])),
                               [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)  # fmt: skip
    w = ct_window(ct)
    assert w[ct < -250].max() == 0.0 and w[ct > 450].min() == 1.0
    assert np.median(w[lab == LV]) == pytest.approx((blood + 250.0) / 700.0, abs=1e-3)

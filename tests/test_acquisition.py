"""Acquisition effects and misalignment: conventions, undoing transforms, missing slices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from zmic_lessons.core.metrics import dice
from zmic_lessons.data.acquisition import (
    MisalignedCase,
    Rigid2D,
    SequenceAcquisition,
    acquire,
    bias_field,
    misalign,
    resample_to_common,
    smooth_field,
    warp_to_sequence,
)
from zmic_lessons.data.cardiac import simulate_case
from zmic_lessons.data.labels import LV, MYO, RV, SEQUENCES


@pytest.fixture(scope="module")
def stack():
    return simulate_case(21, n_slices=4, pathology=True)


def test_rigid_matrix_follows_the_documented_convention():
    t = Rigid2D(0.3, (2.0, -1.5))
    shape = (64, 80)
    c = np.array([31.5, 39.5])
    p = np.array([[10.0, 20.0], [40.0, 5.0]])
    r = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    expect = (p - c) @ r.T + c + np.array([2.0, -1.5])
    np.testing.assert_allclose(t.apply(p, shape), expect, atol=1e-12)
    np.testing.assert_allclose(t.inverse().matrix(shape) @ t.matrix(shape), np.eye(3), atol=1e-12)


def test_sequence_image_satisfies_i_seq_at_t_p_equals_i_common():
    # a smooth image, a point p: I_seq(T(p)) == I_common(p)
    rng = np.random.default_rng(0)
    img = smooth_field(rng, (64, 64), 6, 1.0)
    t = Rigid2D(np.deg2rad(5.0), (3.0, -2.0))
    seq = warp_to_sequence(img, t, order=3)
    back = resample_to_common(seq, t, order=3)
    inner = (slice(12, 52), slice(12, 52))
    np.testing.assert_allclose(back[inner], img[inner], atol=2e-3)
    # a pure shift moves content by +shift in sequence space
    tr = Rigid2D(0.0, (4.0, 0.0))
    seq = warp_to_sequence(img, tr, order=1)
    np.testing.assert_allclose(seq[24, 30], img[20, 30], atol=1e-5)


def test_bias_field_is_smooth_and_positive():
    b = bias_field((96, 96), np.random.default_rng(1), pixel_mm=1.5, strength=0.3, coil_falloff=0.8)
    assert b.min() > 0.2 and b.max() < 5
    assert np.abs(np.diff(b, axis=0)).max() < 0.1


def test_acquire_noise_level_and_kspace_blur():
    clean = np.zeros((1, 128, 128), np.float32)
    clean[0, 32:96, 32:96] = 1.0
    s = SequenceAcquisition(sigma=0.05, kspace_fraction=1.0, bias_strength=0.0, coil_falloff=0.0)
    img = acquire(clean, s, np.random.default_rng(2), pixel_mm=1.5)
    flat = img[0, 48:80, 48:80]
    assert flat.std() == pytest.approx(0.05, rel=0.2)
    # background of magnitude noise is Rayleigh: mean sigma * sqrt(pi/2)
    assert img[0, :16, :16].mean() == pytest.approx(0.05 * np.sqrt(np.pi / 2), rel=0.2)
    # keeping half of k-space blurs and rings the edge along the phase-encode axis (x)
    s2 = SequenceAcquisition(
        sigma=0.0, kspace_fraction=0.5, pe_axis=1, bias_strength=0.0, coil_falloff=0.0
    )
    blur = acquire(clean, s2, np.random.default_rng(3), pixel_mm=1.5)[0]
    assert blur[64, 30:35].max() > 0.05  # spread across the edge along x
    assert blur[64, 36:60].max() > 1.02  # Gibbs overshoot
    np.testing.assert_allclose(blur[64, 64], 1.0, atol=0.06)


def test_misalign_returns_transforms_that_undo_it(stack):
    m = misalign(stack, seed=3, max_angle_deg=6, max_shift_px=5, slice_shift_px=2)
    assert isinstance(m, MisalignedCase)
    nz = stack.labels.shape[0]
    for s in SEQUENCES:
        assert m.images[s].shape == stack.labels.shape
        assert len(m.transforms[s]) == nz and m.slice_shifts[s].shape == (nz, 2)
        for z in range(nz):
            back = resample_to_common(m.labels[s][z], m.transforms[s][z], order=0)
            for c in (LV, MYO, RV):
                if (stack.labels[z] == c).sum() > 30:
                    assert dice(back == c, stack.labels[z] == c) > 0.95, (s, z, c)
            r = np.corrcoef(m.common_images[s][z].ravel(), stack.images[s][z].ravel())[0, 1]
            assert r > 0.8
    # the reference defines the common space
    assert m.sequence_transforms["bssfp"] == Rigid2D()
    np.testing.assert_array_equal(m.images["bssfp"], stack.images["bssfp"])
    # the others really moved
    moved = [(m.labels[s] != stack.labels).mean() for s in ("t2", "lge")]
    assert min(moved) > 0.005


def test_misalign_missing_slices_and_determinism(stack):
    m = misalign(stack, seed=4, missing={"t2": 0.5})
    assert m.coverage["t2"].sum() == 2 and m.coverage["lge"].all()
    assert (m.images["t2"][~m.coverage["t2"]] == 0).all()
    assert (m.labels["t2"][~m.coverage["t2"]] == 0).all()
    m2 = misalign(stack, seed=4, missing={"t2": 0.5})
    np.testing.assert_array_equal(m.images["lge"], m2.images["lge"])
    assert m.transforms["lge"] == m2.transforms["lge"]
    with pytest.raises(ValueError, match=r"missing names unknown sequences \['flair'\]"):
        misalign(stack, seed=0, missing={"flair": 0.5})
    with pytest.raises(ValueError, match=r"missing\['t2'\] must be in \[0, 1\)"):
        misalign(stack, seed=0, missing={"t2": 1.0})
    with pytest.raises(ValueError, match="reference 'ct' is not one of the case's sequences"):
        misalign(stack, seed=0, reference="ct")


def test_noise_is_not_warped(stack):
    # with an empty clean image, the sequence image is pure acquisition noise: white along the
    # readout axis (only the phase-encode axis is low-passed by the k-space cut). Warping a
    # noisy image instead would correlate neighbours along both axes.
    empty = dataclasses.replace(stack, clean={k: np.zeros_like(v) for k, v in stack.clean.items()})
    m = misalign(empty, seed=5)
    for s in ("t2", "lge"):
        img = m.images[s]
        pe = stack.info["acquisition"][s]["pe_axis"]
        ro = 2 if pe == 0 else 1  # readout axis of the (Z, H, W) volume
        a = np.take(img, np.arange(img.shape[ro] - 1), axis=ro).ravel()
        b = np.take(img, np.arange(1, img.shape[ro]), axis=ro).ravel()
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.1, s

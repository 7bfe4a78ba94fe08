"""Scribbles: thin, inside their structure, about 5-10 % of the pixels, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from zmic_lessons.data.cardiac import simulate_case
from zmic_lessons.data.labels import LV, MYO, RV, merge_pathology
from zmic_lessons.data.scribbles import UNLABELLED, scribble_fraction, scribbles_from_labels


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    return np.concatenate([merge_pathology(simulate_case(s).labels) for s in range(4)])


def test_scribbles_inside_structures_and_sparse(labels):
    sc = scribbles_from_labels(labels, seed=0)
    assert sc.shape == labels.shape and sc.dtype == np.uint8
    on = sc != UNLABELLED
    np.testing.assert_array_equal(sc[on], labels[on])  # never outside the structure
    for z in range(labels.shape[0]):
        frac = scribble_fraction(sc[z])
        assert 0.04 <= frac <= 0.12, frac
        for c in (0, LV, MYO, RV):
            assert (sc[z] == c).sum() >= 5, (z, c)
        # thin: scribbled pixels are a small part of each structure
        for c in (LV, MYO, RV):
            assert (sc[z] == c).sum() < 0.6 * (labels[z] == c).sum()


def test_scribbles_keep_off_the_boundary(labels):
    from scipy import ndimage

    sc = scribbles_from_labels(labels, seed=1)
    for c in (LV, MYO, RV):
        for z in range(labels.shape[0]):
            region = labels[z] == c
            inner = ndimage.binary_erosion(region, ndimage.generate_binary_structure(2, 1))
            if inner.sum() >= 3:
                assert inner[sc[z] == c].all()


def test_scribbles_reproducible_and_2d(labels):
    a = scribbles_from_labels(labels[0], seed=3)
    b = scribbles_from_labels(labels[0], seed=3)
    c = scribbles_from_labels(labels[0], seed=4)
    assert a.shape == labels[0].shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_class_subset_and_errors(labels):
    sc = scribbles_from_labels(labels[0], seed=0, classes=(LV,))
    assert set(np.unique(sc)) == {LV, UNLABELLED}
    with pytest.raises(ValueError, match=r"labels must be \(H, W\) or \(Z, H, W\)"):
        scribbles_from_labels(np.zeros((2, 2, 2, 2), np.uint8), seed=0)

"""Images for restoration: shipped files and phantoms, no download."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from zmic_lessons.data import images
from zmic_lessons.data.errors import MissingDataError
from zmic_lessons.data.images import (
    IMAGES,
    available_images,
    load_image,
    load_volume,
    mr_shepp_logan,
)

CHEAP = [n for n in available_images() if not n.startswith("cardiac_")]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_always_available_images_are_listed():
    names = available_images()
    for name in ("camera", "astronaut", "shepp_logan", "nibabel_anatomical", "mr_shepp_logan_t1"):
        assert name in names
    assert set(available_images("3d")) <= {n for n, s in IMAGES.items() if s.kind == "3d"}


@pytest.mark.parametrize("name", CHEAP)
def test_every_available_image_loads_offline_as_unit_float(name, no_network):
    image = load_image(name)
    assert image.ndim == 2 and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.std() > 0.01


def test_camera_is_the_bundled_file():
    cam = load_image("camera")
    assert cam.shape == (512, 512)
    assert load_image("astronaut").shape == (512, 512)  # RGB converted to grey


def test_volumes_keep_their_spacing():
    vol, spacing = load_volume("nibabel_example4d")
    assert vol.shape == (24, 96, 128)
    assert spacing == pytest.approx((2.2, 2.0, 2.0), abs=1e-4)
    with pytest.raises(ValueError, match="2D"):
        load_volume("camera")


def test_mr_shepp_logan_contrasts():
    t1, t2 = mr_shepp_logan(128, "t1"), mr_shepp_logan(128, "t2")
    ventricle = (64, 64 + int(0.22 * 64))  # inside the right CSF ellipse
    # CSF is dark on T1w and bright on T2w
    assert t1[ventricle] < 0.3 < t2[ventricle]
    with pytest.raises(ValueError, match="weighting"):
        mr_shepp_logan(64, "flair")


def test_optional_image_absent_says_what_to_install(monkeypatch):
    monkeypatch.setattr(images, "_optional_path", lambda name: None)
    assert "mni152_t1" not in available_images()
    with pytest.raises(MissingDataError, match="pip install nilearn"):
        load_image("mni152_t1")
    with pytest.raises(ValueError, match="unknown image 'lena'"):
        load_image("lena")

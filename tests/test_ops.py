"""The shared operations of ``core.ops`` and ``viz.source``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zmic_lessons.core import ops
from zmic_lessons.viz import source_markdown


def test_gaussian_blur_keeps_constants_and_mass():
    x = torch.full((1, 2, 9, 11), 3.0)
    assert torch.allclose(ops.gaussian_blur(x, 1.5), x)
    spike = torch.zeros(1, 1, 21, 21)
    spike[0, 0, 10, 10] = 1.0
    out = ops.gaussian_blur(spike, 1.0)
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-6)
    # separable Gaussian: the centre row is the 1D kernel times its centre value
    k = ops.gaussian_kernel1d(1.0)
    assert torch.allclose(out[0, 0, 10, 7:14], k * k[3], atol=1e-7)
    assert ops.gaussian_blur(spike, 0.0) is spike


def test_one_hot_axis_and_range():
    labels = torch.tensor([[0, 1], [2, 1]])
    oh = ops.one_hot(labels[None], 3)
    assert oh.shape == (1, 3, 2, 2)
    assert torch.equal(oh.argmax(1)[0], labels)
    assert ops.one_hot(labels, 3, dim=0).shape == (3, 2, 2)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        ops.one_hot(torch.tensor([3]), 3)


def test_rician_noise_mean_of_background_is_rayleigh():
    rng = np.random.default_rng(0)
    noise = ops.rician_noise(np.zeros(200_000), 0.1, rng)
    assert noise.mean() == pytest.approx(0.1 * np.sqrt(np.pi / 2), rel=0.01)


def test_scale_to_percentile():
    img = np.linspace(0, 10, 1001)
    out, scale = ops.scale_to_percentile(img, 100)
    assert scale == pytest.approx(10.0) and out.max() == pytest.approx(1.0)
    zero, scale0 = ops.scale_to_percentile(np.zeros(5))
    assert scale0 == 1.0 and zero.sum() == 0


def test_source_markdown_shows_the_code_without_its_docstring():
    md = source_markdown(ops.one_hot)
    assert md.startswith("**`zmic_lessons.core.ops.one_hot`**")
    assert "F.one_hot(labels, n_classes)" in md and "Float one-hot" not in md
    assert "Float one-hot" in source_markdown(ops.one_hot, docstring=True)


def test_source_markdown_keeps_the_body_indented():
    class Holder:
        def method(self, x):
            y = x + 1
            return y

    md = source_markdown(Holder.method)
    assert "def method(self, x):\n    y = x + 1\n    return y" in md

"""MvMM-RegNet: the MvMM loss trains the network, identity warps change nothing, fusion is sane."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zmic_lessons.core.training import fit
from zmic_lessons.mvmm.regnet import (
    RegNet,
    fuse,
    fuse_with_noise,
    label_likelihood,
    majority_vote,
    mvmm_nll,
)
from zmic_lessons.mvmm.regnet_experiment import evaluate
from zmic_lessons.nn.spatial import warp

INTENSITY = torch.tensor([0.1, 0.8, 0.3, 0.6])  # background, LV blood, myocardium, RV blood


def _heart(size: int, cy: float, cx: float) -> torch.Tensor:
    """A toy class map: LV disc in a myocardial ring, an RV disc beside it."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    r = ((y - cy) ** 2 + (x - cx) ** 2).float().sqrt()
    lab = torch.zeros(size, size, dtype=torch.long)
    lab[((y - cy) ** 2 + (x - cx + 0.45 * size) ** 2).float().sqrt() < 0.18 * size] = 3
    lab[r < 0.28 * size] = 2
    lab[r < 0.18 * size] = 1
    return lab


def _image(lab: torch.Tensor, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return INTENSITY[lab] + 0.02 * torch.randn(lab.shape, generator=g)


def test_mvmm_loss_trains_the_network_on_a_toy_pair():
    torch.manual_seed(0)
    size = 32
    moving_lab, fixed_lab = _heart(size, 16, 18), _heart(size, 19, 20)
    moving, fixed = _image(moving_lab, 1)[None], _image(fixed_lab, 2)[None]
    probs = label_likelihood(moving_lab[None], sigma=1.5)

    def loss_fn(model: nn.Module, batch):
        disp = model(torch.stack([moving, fixed], 1))
        return mvmm_nll(fixed, [warp(probs, disp)])

    model = RegNet(features=(8, 16), max_disp_px=6.0, scale_px=2.0)
    history = fit(model, loss_fn, lambda step: None, steps=15, lr=5e-3, device="cpu",
                  progress=False, seed=0, log_every=5)  # fmt: skip
    _, losses = history.series("loss")
    assert losses[-5:].mean() < losses[0] - 0.05


class _Zero(nn.Module):
    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return torch.zeros(pair.shape[0], 2, *pair.shape[2:])


def test_zero_displacement_leaves_dice_unchanged():
    labels = torch.stack([_heart(32, 15 + i, 16 + i) for i in range(4)])
    images = torch.stack([_image(lab, i) for i, lab in enumerate(labels)])
    metrics, examples = evaluate(_Zero(), images, labels, n_atlas=2, sigma=1.0)
    assert metrics["regnet_dice_before"] == metrics["regnet_dice_after"]
    assert metrics["regnet_dice_before"] < 0.95  # the cases do differ
    assert torch.equal(examples["warped_labels"], labels[:2])


def test_untrained_regnet_is_the_identity():
    pair = torch.rand(2, 2, 32, 32)
    assert torch.count_nonzero(RegNet(features=(8, 16))(pair)) == 0


def test_fusion_of_identical_atlases_is_the_atlas_label():
    lab = _heart(40, 20, 22)
    probs = label_likelihood(lab[None].expand(3, -1, -1), sigma=1.0)
    # N identical atlases fuse to the one-atlas model, which is the label up to smoothed corners
    assert torch.equal(fuse(None, probs), fuse(None, probs[:1]))
    assert (fuse(None, probs) == lab).float().mean() > 0.99
    assert torch.equal(fuse(_image(lab), probs), lab)
    assert torch.equal(majority_vote(lab[None].expand(3, -1, -1)), lab)


def test_fusion_prefers_the_label_the_image_supports():
    truth = _heart(40, 20, 22)
    wrong = _heart(40, 21, 23)
    probs = label_likelihood(torch.stack([truth, wrong]), sigma=1.0)
    fused = fuse(_image(truth), probs)
    # two atlases disagree on a rim; the target's intensities settle it towards the truth
    assert (fused == truth).float().mean() > (wrong == truth).float().mean()


def test_fusion_estimates_a_higher_error_rate_for_the_misregistered_atlas():
    truth = _heart(40, 20, 22)
    shifted = torch.roll(truth, shifts=(4, 3), dims=(0, 1))
    probs = label_likelihood(torch.stack([truth, truth, shifted]), sigma=1.0)
    fused, noise = fuse_with_noise(_image(truth), probs)
    assert noise[2] > 2 * noise[0]
    assert noise[0] == pytest.approx(float(noise[1]))
    # the two agreeing atlases and the image outvote the shifted one everywhere but corners
    assert (fused == truth).float().mean() > 0.99
    with pytest.raises(ValueError, match="at least one EM step"):
        fuse_with_noise(_image(truth), probs, em_steps=0)

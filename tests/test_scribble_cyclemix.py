"""The CycleMix pieces pinned to their definitions (zmic_lessons.scribble.cyclemix)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zmic_lessons.nn import UNet
from zmic_lessons.scribble import cyclemix as cm

K = 4


def _draw(n: int, seed: int = 0, blocks: int = 4, hole: int = 6) -> cm.CycleMixDraw:
    g = torch.Generator().manual_seed(seed)
    return cm.CycleMixDraw(
        perm=torch.randperm(n, generator=g),
        lam=torch.rand(n, generator=g),
        blocks=blocks,
        centres=torch.randint(0, 16, (n, 2), generator=g),
        hole=hole,
    )


def _scribbles(n=3, h=16, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, K, (n, h, w), generator=g)
    unl = torch.rand(n, h, w, generator=g) < 0.8
    return torch.where(unl, torch.full_like(lab, 255), lab), lab


def test_one_hot_has_zero_rows_where_unlabelled():
    scr, _ = _scribbles()
    y = cm.scribble_one_hot(scr, K)
    assert y.shape == (3, K, 16, 16)
    assert torch.equal(y.sum(1) == 0, scr == 255)
    with pytest.raises(ValueError, match="scribble values"):
        cm.scribble_one_hot(torch.full((1, 2, 2), 7), K)


def test_pce_equals_ce_when_every_pixel_is_labelled():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, K, 8, 8, generator=g)
    lab = torch.randint(0, K, (2, 8, 8), generator=g)
    y = cm.scribble_one_hot(lab, K)
    ce = F.cross_entropy(logits, lab)
    for norm in ("all", "labelled"):
        assert cm.partial_cross_entropy(logits, y, norm) == pytest.approx(float(ce), rel=1e-6)
    with pytest.raises(ValueError, match="normalise"):
        cm.partial_cross_entropy(logits, y, "mean")


def test_pce_has_zero_gradient_at_unlabelled_pixels():
    scr, _ = _scribbles(seed=2)
    logits = torch.randn(3, K, 16, 16, requires_grad=True)
    cm.partial_cross_entropy(logits, cm.scribble_one_hot(scr, K)).backward()
    grad = logits.grad.abs().sum(1)
    assert torch.all(grad[scr == 255] == 0)
    assert torch.all(grad[scr != 255] > 0)


def test_mask_of_ones_returns_the_first_image_and_scribble():
    x = torch.randn(3, 1, 16, 16)
    scr, _ = _scribbles()
    y = cm.scribble_one_hot(scr, K)
    perm = torch.tensor([2, 0, 1])
    ones = torch.ones(3, 1, 16, 16)
    assert torch.equal(cm.mix(x, x[perm], ones), x)
    assert torch.equal(cm.mix(y, y[perm], ones), y)
    # lam = 1 gives a mask of ones whatever the saliency
    mask = cm.block_mix_mask(torch.rand(3, 1, 16, 16), torch.rand(3, 1, 16, 16), torch.ones(3), 4)
    assert torch.equal(mask, ones)


def test_mixed_image_and_label_come_from_one_source_at_every_pixel():
    x = torch.randn(4, 1, 16, 16)
    scr, _ = _scribbles(n=4, seed=3)
    y = cm.scribble_one_hot(scr, K)
    perm = torch.tensor([1, 2, 3, 0])
    lam = torch.tensor([0.2, 0.5, 0.7, 0.9])
    mask = cm.block_mix_mask(torch.rand(4, 1, 16, 16), torch.rand(4, 1, 16, 16), lam, 4)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # the share of blocks kept is lam (rounded to whole blocks)
    assert torch.allclose(mask.mean((1, 2, 3)), (lam * 16).round() / 16)
    xm, ym = cm.mix(x, x[perm], mask), cm.mix(y, y[perm], mask)
    from_a = mask.bool().expand_as(x)
    assert torch.equal(xm[from_a], x[from_a]) and torch.equal(xm[~from_a], x[perm][~from_a])
    from_a_y = mask.bool().expand_as(y)
    assert torch.equal(ym[from_a_y], y[from_a_y])
    assert torch.equal(ym[~from_a_y], y[perm][~from_a_y])


def test_the_more_salient_blocks_of_the_first_source_are_kept():
    sal_a = torch.zeros(1, 1, 8, 8)
    sal_a[..., :4, :4] = 1.0  # source a is salient in the top-left quarter only
    mask = cm.block_mix_mask(sal_a, torch.zeros_like(sal_a), torch.tensor([0.25]), 2)
    assert mask[0, 0, :4, :4].eq(1).all() and mask.sum() == 16


def test_occlusion_zeroes_image_and_label_only_inside_the_hole():
    x = torch.randn(2, 1, 16, 16) + 5.0
    scr, lab = _scribbles(n=2, seed=4)
    y = cm.scribble_one_hot(lab, K)  # dense: every pixel labelled
    keep = cm.occlusion_mask((2, 1, 16, 16), torch.tensor([[8, 8], [0, 15]]), 4)
    xo, yo = cm.occlude(x, y, keep)
    hole = keep == 0
    assert int(hole[0].sum()) == 16 and int(hole[1].sum()) == 2 * 3  # clipped at the corner
    assert torch.all(xo[hole] == 0) and torch.equal(xo[~hole], x[~hole])
    holes_y = hole.expand_as(y)
    assert torch.all(yo[holes_y] == 0) and torch.equal(yo[~holes_y], y[~holes_y])


class _PerPixel(nn.Module):
    """A 1x1-conv model: exactly mix-equivariant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, K, 1)

    def forward(self, x):
        return self.conv(x)


def test_global_consistency_is_zero_for_a_per_pixel_model_without_occlusion():
    torch.manual_seed(0)
    model = _PerPixel()
    x = torch.randn(4, 1, 16, 16)
    draw = _draw(4)
    mask = cm.block_mix_mask(torch.rand(4, 1, 16, 16), torch.rand(4, 1, 16, 16), draw.lam, 4)
    probs = model(x).softmax(1)
    probs_mix = model(cm.mix(x, x[draw.perm], mask)).softmax(1)
    keep = torch.ones(4, 1, 16, 16)
    loss, _ = cm.global_consistency(probs_mix, probs, draw.perm, mask, keep)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    # a spatial model is not mix-equivariant: the loss is positive
    conv = nn.Conv2d(1, K, 5, padding=2)
    p, pm = conv(x).softmax(1), conv(cm.mix(x, x[draw.perm], mask)).softmax(1)
    assert cm.global_consistency(pm, p, draw.perm, mask, keep)[0].item() > 1e-4


def test_local_consistency_zero_for_one_component_positive_with_an_island():
    lab = np.zeros((16, 16), np.int64)
    lab[4:10, 4:10] = 1
    lab[6:8, 6:8] = 2
    probs = F.one_hot(torch.from_numpy(lab)[None], K).movedim(-1, 1).float()
    loss, _ = cm.local_consistency(probs)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    lab[13:15, 13:15] = 1  # a spurious island of LV
    probs = F.one_hot(torch.from_numpy(lab)[None], K).movedim(-1, 1).float()
    loss, lmap = cm.local_consistency(probs)
    assert loss.item() > 0
    assert lmap[0, 13:15, 13:15].gt(0.5).all() and lmap[0, :12, :12].eq(0).all()
    assert (cm.largest_component_labels(lab, K)[13:15, 13:15] == 0).all()


def test_pce_only_config_is_the_partial_cross_entropy():
    torch.manual_seed(0)
    model = UNet(2, 1, K, features=(4, 8))
    x = torch.randn(2, 1, 16, 16)
    scr, _ = _scribbles(n=2)
    y = cm.scribble_one_hot(scr, K)
    off = cm.CycleMixConfig(mix=False, occlusion=False, global_=False, local=False)
    step = cm.cyclemix_step(model, x, y, None, off)
    assert step.loss.item() == pytest.approx(cm.partial_cross_entropy(model(x), y).item())
    assert set(step.terms) == {"pce"}
    with pytest.raises(ValueError, match="draw"):
        cm.cyclemix_step(model, x, y, None, cm.CycleMixConfig())


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = UNet(2, 1, K, features=(4, 8, 16))
    x = torch.randn(4, 1, 16, 16)
    scr, _ = _scribbles(n=4, seed=5)
    step = cm.cyclemix_step(model, x, cm.scribble_one_hot(scr, K), _draw(4), cm.CycleMixConfig())
    assert set(step.terms) == {"pce", "cut", "global", "local"}
    assert all(np.isfinite(v) for v in step.terms.values())
    step.loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for key in ("pce", "cut", "global", "local", "mask", "keep", "saliency", "image_aug"):
        assert key in step.maps, key

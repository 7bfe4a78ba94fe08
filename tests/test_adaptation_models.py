"""The adaptation models: shapes, gradients reaching every module, the tasks' data."""

from __future__ import annotations

import pytest
import torch

from zmic_lessons.adaptation import (
    AdversarialSeg,
    CFDNet,
    VarDA,
    adversarial_loss,
    balanced_cross_entropy,
    cfdnet_loss,
    gradient_reversal,
    phantom_task,
    varda_loss,
)
from zmic_lessons.adaptation.losses import latent_samples, pool_posterior

WEIGHTS = {"seg": 1.0, "kl": 0.01, "rec": 1.0, "cf": 1.0, "mean": 1.0, "alpha": 1.0}


def _batch(k: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    xs, xt = torch.rand(2, 1, 16, 16, generator=g), torch.rand(2, 1, 16, 16, generator=g)
    ys = torch.randint(0, k, (2, 16, 16), generator=g)
    return xs, ys, xt


def _assert_all_grads(model: torch.nn.Module) -> None:
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("per_pixel", [True, False])
def test_cfdnet_gradients_reach_every_module(per_pixel: bool) -> None:
    torch.manual_seed(0)
    model = CFDNet(3, (4, 8), latent=4)
    loss, parts = cfdnet_loss(model, *_batch(), weights=WEIGHTS, t_max=1.0, pool=4,
                              per_pixel=per_pixel)  # fmt: skip
    loss.backward()
    assert set(parts) == {"seg", "kl", "rec_t", "cf", "mean"}
    _assert_all_grads(model)


def test_varda_gradients_reach_every_module_and_beta_zero_drops_the_distance() -> None:
    torch.manual_seed(0)
    model = VarDA(3, (4, 8), latent=4)
    loss, parts = varda_loss(model, *_batch(), beta=1.0, weights=WEIGHTS, pool=4)
    loss.backward()
    _assert_all_grads(model)
    assert parts["dist"].requires_grad
    _, parts0 = varda_loss(model, *_batch(), beta=0.0, weights=WEIGHTS, pool=4)
    assert not parts0["dist"].requires_grad


def test_varda_target_decoder_trains_the_segmenter_without_labels() -> None:
    # only the target reconstruction: the encoder (segmentation head included) gets gradient
    torch.manual_seed(0)
    model = VarDA(3, (4, 8), latent=4)
    w = {"seg": 0.0, "kl": 0.0, "rec": 1.0, "alpha": 1.0}
    _, parts = varda_loss(model, *_batch(), beta=0.0, weights=w, pool=4)
    parts["rec_t"].backward()
    head = model.encoder.head[-1].weight.grad
    assert head is not None and head.abs().sum() > 0


def test_adversarial_gradients_and_reversal() -> None:
    torch.manual_seed(0)
    model = AdversarialSeg(3, (4, 8))
    loss, parts = adversarial_loss(model, *_batch(), weight=0.5)
    loss.backward()
    _assert_all_grads(model)
    x = torch.ones(3, requires_grad=True)
    gradient_reversal(x, 0.5).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), -0.5))
    assert set(parts) == {"seg", "domain"}


def test_balanced_cross_entropy_weights_classes_equally() -> None:
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 1, 0, 0] = 2.0  # one confident pixel of the rare class
    labels = torch.tensor([[[1, 0, 0, 0]]])
    # plain CE lets the 3 background pixels dominate; balanced CE gives each class half
    lse = torch.logsumexp(torch.tensor([0.0, 2.0]), 0)
    expected = 0.5 * (lse - 2.0) + 0.5 * torch.log(torch.tensor(2.0))
    torch.testing.assert_close(balanced_cross_entropy(logits, labels), expected)


def test_latent_samples_and_pooled_posterior() -> None:
    z = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    assert latent_samples(z, 2, per_pixel=True).shape == (8, 3)
    assert latent_samples(z, 2, per_pixel=False).shape == (2, 12)
    mu, var = pool_posterior(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), 2)
    torch.testing.assert_close(var, torch.full((1, 1, 2, 2), 0.25))  # variance of a 4-mean


@pytest.mark.parametrize("name", ["bssfp2lge", "ct2mr"])
def test_phantom_task_same_anatomy_in_both_test_domains(name: str) -> None:
    task = phantom_task(name, n_train=2, n_test=2, size=32, pixel_mm=3.0, seed=0)
    assert task.source_train.images.shape == (2, 1, 32, 32)
    torch.testing.assert_close(task.source_test.labels, task.target_test.labels)
    assert not torch.equal(task.source_test.images, task.target_test.images)
    assert int(task.target_test.labels.max()) == task.n_classes - 1
    assert not torch.equal(task.source_train.labels, task.target_train.labels)  # other hearts

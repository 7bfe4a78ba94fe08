"""The atrial chapter at ``quick``, its pieces, and that no label is read at test time."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zmic_lessons.atrial import (
    MiniDeepLab,
    Volume,
    build_model,
    make_experiment,
    predict,
    random_style,
    standardise,
    to_grid,
)
from zmic_lessons.atrial.chapter import train_one
from zmic_lessons.atrial.settings import BUDGETS
from zmic_lessons.chapters import run_chapter
from zmic_lessons.core.budget import select
from zmic_lessons.data.atrial import ATRIAL_CENTRES, simulate_atrium
from zmic_lessons.data.layouts import write_phantom_dataset

REQUIRED = (
    "dice_seen",
    "dice_unseen_baseline",
    "dice_unseen_hm",
    "dice_unseen_aug",
    "hd95_unseen_baseline_mm",
    "hd95_unseen_hm_mm",
    "assd_unseen_hm_mm",
    "scar_dice",
    "scar_gdice",
    "deeplab_dice_seen",
    "deeplab_dice_unseen",
)


@pytest.fixture(scope="module")
def quick():
    return run_chapter("atrial", budget="quick", seed=0)


def test_quick_run_reports_the_metrics(quick):
    for key in REQUIRED:
        assert key in quick.metrics, key
    for key in ("dice_seen", "dice_unseen_hm", "scar_gdice", "deeplab_dice_unseen"):
        assert 0.0 <= quick.metrics[key] <= 1.0
    art = quick.artifacts
    assert set(art.models) == {"unet/none", "unet/hm", "unet/aug", "deeplab/none"}
    steps = BUDGETS["quick"].steps
    assert all(h.steps_done == steps for h in art.histories.values())
    exp = art.experiment
    assert exp.unseen == "D" and exp.unseen not in exp.seen
    assert all(v.centre in exp.seen for v in exp.train)
    assert {v.name for v in exp.train}.isdisjoint(v.name for c in exp.seen for v in exp.tests[c])


def test_resume_reuses_the_complete_checkpoints(tmp_path):
    first = run_chapter("atrial", budget="quick", device="cpu", out=tmp_path)
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").rglob("last.pt")}
    assert {p.parent.name for p in saved} == {"unet_none", "unet_hm", "unet_aug", "deeplab_none"}
    again = run_chapter("atrial", budget="quick", device="cpu", out=tmp_path, resume=True)
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # nothing trained again
    np.testing.assert_equal(again.metrics, first.metrics)  # bit-identical (NaN distances too)


def test_unknown_setting_is_refused():
    with pytest.raises(TypeError, match="unknown setting"):
        run_chapter("atrial", budget="quick", not_a_field=1)


def test_hm_reference_must_be_a_training_volume():
    settings = select("quick", BUDGETS, hm_reference_centre="D")
    with pytest.raises(ValueError, match="reference must be a training volume"):
        make_experiment(settings, 0)


class _Forbidden:
    """Stands in for a label: any use raises (arrays, comparisons, truth values, indexing)."""

    def _fail(self, *args, **kwargs):
        raise AssertionError("a label was read at test time")

    __array__ = __bool__ = __getitem__ = __eq__ = __and__ = __or__ = __invert__ = _fail
    shape = property(_fail)


def test_no_label_is_read_at_test_time():
    settings = select("quick", BUDGETS)
    exp = make_experiment(settings, 0)
    model, _ = train_one(exp, settings, "unet", "hm", seed=0, device=torch.device("cpu"))
    case = exp.tests["D"][0]
    blind = Volume(case.image, _Forbidden(), _Forbidden(), case.spacing, "D", "blind")
    for scheme in ("none", "hm", "aug"):
        prob = predict(model, standardise(blind, scheme, exp.reference))
        np.testing.assert_array_equal(
            prob, predict(model, standardise(case, scheme, exp.reference))
        )
    with pytest.raises(AssertionError, match="label was read"):
        np.asarray(blind.la)


def test_the_roi_does_not_depend_on_the_label():
    settings = select("quick", BUDGETS)
    case = simulate_atrium(3, shape=(20, 48, 48), spacing_mm=2.0, centre="D")
    image, labels = to_grid(case.image, case.labels, case.spacing, settings)
    moved = np.roll(case.labels, 9, axis=2)
    image2, labels2 = to_grid(case.image, moved, case.spacing, settings)
    np.testing.assert_array_equal(image, image2)
    assert image.shape == tuple(settings.grid_shape)
    assert not np.array_equal(labels, labels2)


def test_centres_differ_in_every_protocol_setting():
    seen = [ATRIAL_CENTRES[c] for c in ("A", "B", "C")]
    d = ATRIAL_CENTRES["D"]
    assert d.gamma > max(c.gamma for c in seen)
    assert d.ti_error[0] > max(c.ti_error[1] for c in seen)
    assert d.t1_blood[1] < min(c.t1_blood[0] for c in seen)
    assert d.bias > max(c.bias for c in seen) and d.snr < min(c.snr for c in seen)
    assert d.offset_mm > max(c.offset_mm for c in seen)
    assert not d.fat_suppressed


def test_networks_and_augmentation_shapes():
    settings = select("quick", BUDGETS)
    x = torch.randn(3, 1, 32, 32)
    for kind in ("unet", "deeplab"):
        assert build_model(kind, settings)(x).shape == (3, 2, 32, 32)
    assert MiniDeepLab(1, 2, (4, 8, 8, 16))(x).shape == (3, 2, 32, 32)
    with pytest.raises(ValueError, match="unknown network"):
        build_model("vit", settings)
    gen = torch.Generator().manual_seed(0)
    y = random_style(x, gen)
    assert y.shape == x.shape and torch.isfinite(y).all()
    torch.testing.assert_close(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-4, rtol=0)
    torch.testing.assert_close(y.std(dim=(1, 2, 3)), x.std(dim=(1, 2, 3)), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(y, x)


def test_runs_on_the_lascarqs_layout(tmp_path):
    root = write_phantom_dataset("lascarqs", tmp_path, cases=2, seed=0, size=32)
    res = run_chapter("atrial", budget="quick", seed=0, data=root, n_train=1, n_test=1)
    assert res.data == str(root)
    exp = res.artifacts.experiment
    assert exp.seen == ("task1",) and exp.unseen == "task2"
    assert all(v.image.shape == tuple(BUDGETS["quick"].grid_shape) for v in exp.train)
    assert math.isfinite(res.metrics["dice_seen"]) and "dice_unseen_hm" in res.metrics

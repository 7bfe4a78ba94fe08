"""The scribble chapter runs end to end (quick), on the phantom and on real-layout files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zmic_lessons.data.layouts import write_phantom_dataset
from zmic_lessons.data.scribbles import UNLABELLED
from zmic_lessons.io import affine_from_spacing, write_nifti
from zmic_lessons.scribble import chapter, lessons
from zmic_lessons.scribble.experiment import BatchSampler, make_experiment, method_config
from zmic_lessons.scribble.slices import crop_window

REQUIRED = ("dice_pce", "dice_cyclemix", "dice_full", "scribble_fraction", "cyclemix_gain")


@pytest.fixture(scope="module")
def quick():
    torch.set_num_threads(2)
    return chapter.run("quick", "cpu", seed=0, data=None, out=None)


def test_quick_run_reports_every_metric(quick):
    m = quick.metrics
    for name in REQUIRED:
        assert name in m and math.isfinite(m[name]), name
    for method in ("pce", "cyclemix", "full"):
        for part in ("", "_lv", "_myo", "_rv"):
            assert 0.0 <= m[f"dice_{method}{part}"] <= 1.0
    assert 0.0 < m["scribble_fraction"] < 0.3
    assert quick.to_dict()["settings"]["crop"] == chapter.BUDGETS["quick"].crop
    art = quick.artifacts
    assert set(art.models) == {"pce", "cyclemix", "full"}
    assert art.predictions["pce"].shape == tuple(art.experiment.test.labels.shape)
    assert "val_dice" in art.models["cyclemix"].history.names


def test_ablation_adds_its_rows():
    torch.set_num_threads(2)
    r = chapter.run("quick", "cpu", seed=1, ablation=True, steps=1, n_test=2)
    for method in chapter.METHODS:
        assert f"dice_{method}" in r.metrics, method
    with pytest.raises(TypeError, match="unknown setting"):
        chapter.run("quick", "cpu", seed=0, not_a_setting=1)


def test_padding_is_never_a_label():
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = crop_window(img, (0, 0), 6, -1.0)
    assert out.shape == (6, 6) and (out == -1).sum() == 36 - 9
    s = chapter.BUDGETS["quick"]
    exp = make_experiment(s, seed=0)
    # a training window pushed past the image: padding carries no scribble
    sampler = BatchSampler(exp.train, s, seed=0, dense=False)
    batch = sampler(0)
    assert batch["x"].shape == (s.batch, 1, s.crop, s.crop)
    assert batch["y"].shape == (s.batch, 4, s.crop, s.crop)
    assert set(batch["y"].unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(sampler(3)["x"], sampler(3)["x"])  # a step's batch is reproducible
    assert not method_config("pce", s).augments and method_config("cyclemix", s).local
    with pytest.raises(ValueError, match="unknown method"):
        method_config("puzzlemix", s)


def test_lessons_take_one_step_apart(quick):
    art = quick.artifacts
    s, model = art.settings, art.models["cyclemix"].model
    step = lessons.take_step_apart(model, art.experiment.train, s, seed=0)
    assert set(step.terms) == {"pce", "cut", "global", "local"}
    panels = lessons.step_panels(step, 0)
    assert all(a.ndim == 2 for a in panels.values())
    frames, titles = lessons.mixed_frames(model, art.experiment.train, s, seed=0, n=3)
    assert len(frames) == len(titles) == 3
    rows = lessons.ablation_rows(quick.metrics)
    assert rows[0][0].startswith("pCE")
    assert set(lessons.curves(art.models)) == {"pce", "cyclemix", "full"}
    assert lessons.scribble_display(np.array([0, 1, 255])).tolist() == [4, 1, 0]


def test_runs_on_acdc_layout_files(tmp_path):
    torch.set_num_threads(2)
    root = write_phantom_dataset("acdc", tmp_path, cases=3, seed=0, size=64, n_slices=2)
    r = chapter.run("quick", "cpu", seed=0, data=root, pixel_mm=2.0)
    for name in ("dice_pce", "dice_cyclemix", "dice_full"):
        assert 0.0 <= r.metrics[name] <= 1.0
    assert r.artifacts.experiment.source.startswith("ACDC")
    assert r.to_dict()["data"] == str(root)


def _write(path, array, spacing=(10.0, 1.25, 1.25)):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_nifti(path, array, affine=affine_from_spacing(spacing))


def test_runs_on_the_cyclemix_mscmr_layout(tmp_path):
    """The CycleMix release: scribbles for train (4 = none), manual labels for val/TestSet."""
    torch.set_num_threads(2)
    root = write_phantom_dataset("acdc", tmp_path / "src", cases=4, seed=1, size=64, n_slices=2)
    base = tmp_path / "MSCMR_dataset"
    from zmic_lessons.data.datasets import ACDC

    cases = list(ACDC(root))[::2]  # the ED frame of each patient
    to_file = np.full(256, 4, np.uint8)
    to_file[[0, 1, 2, 3]] = [0, 3, 2, 1]  # package codes -> CycleMix (1 RV, 2 myo, 3 LV)
    splits = ("train", "train", "val", "TestSet")
    for i, (split, case) in enumerate(zip(splits, cases, strict=True)):
        name = f"subject{i + 1}_DE"
        _write(base / split / "images" / f"{name}.nii.gz", case.images["bssfp"])
        if split == "train":
            scr = to_file[case.scribbles["bssfp"]]
            _write(base / split / "labels" / f"{name}_scribble.nii.gz", scr.astype(np.uint8))
        else:
            lab = to_file[case.labels["bssfp"]]
            _write(base / split / "labels" / f"{name}_manual.nii.gz", lab.astype(np.uint8))
    r = chapter.run("quick", "cpu", seed=0, data=base, pixel_mm=2.0)
    assert "dice_full" not in r.metrics  # the release has no dense training labels
    assert 0.0 <= r.metrics["dice_cyclemix"] <= 1.0
    assert r.artifacts.experiment.train.scribbles.max() == UNLABELLED


def test_resume_reuses_the_complete_checkpoints(tmp_path):
    from zmic_lessons.chapters import run_chapter

    first = run_chapter("scribble", budget="quick", device="cpu", out=tmp_path)
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").rglob("last.pt")}
    assert {p.parent.name for p in saved} == {"pce", "cyclemix", "full"}
    again = run_chapter("scribble", budget="quick", device="cpu", out=tmp_path, resume=True)
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # nothing trained again
    assert again.metrics == first.metrics

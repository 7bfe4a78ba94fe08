"""One configuration: every knob is a Settings field; one function builds the fit's config."""

from __future__ import annotations

import dataclasses
import inspect
import shutil

import numpy as np
import pytest
import torch

from zmic_lessons.chapters import run_chapter
from zmic_lessons.core.budget import select
from zmic_lessons.core.settings import parse_overrides
from zmic_lessons.data.layouts import write_phantom_dataset
from zmic_lessons.mvmm import real_data, regnet_experiment
from zmic_lessons.mvmm.settings import BUDGETS, Settings, fit_config, pixel_scale


def test_every_field_parses_from_the_command_line():
    pairs = [f"{f.name}={_text(getattr(Settings(), f.name))}" for f in dataclasses.fields(Settings)]
    parsed = parse_overrides(Settings, pairs)
    assert Settings(**parsed) == Settings()


def _text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def test_no_setting_is_read_with_a_hidden_default():
    source = inspect.getsource(regnet_experiment)
    assert "getattr(settings" not in source


def test_regnet_settings_reach_the_experiment(monkeypatch):
    cfg = select("quick", BUDGETS, regnet_lr=1e-4, regnet_targets=2, regnet_batch=2)
    seen = {}
    trainer = regnet_experiment.fit

    def spy(model, loss_fn, batches, **kwargs):
        seen.update(kwargs, batch=batches(0)[0].shape[0])
        return trainer(model, loss_fn, batches, **kwargs)

    monkeypatch.setattr(regnet_experiment, "fit", spy)
    regnet_experiment.run_regnet(cfg, torch.device("cpu"), seed=0)
    assert seen["lr"] == 1e-4 and seen["steps"] == cfg.regnet_steps and seen["batch"] == 2
    data = regnet_experiment.regnet_data(cfg, torch.device("cpu"), seed=0)
    assert data.test_images.shape[0] == cfg.regnet_atlases + 2
    with pytest.raises(TypeError, match="unknown setting"):
        select("quick", BUDGETS, regnet_learning_rate=1e-4)


def test_fit_config_scales_lengths_and_copies_the_rest():
    cfg = select("standard", BUDGETS, update_weights=True, var_floor=1e-3)
    config = fit_config(cfg, 0.5)
    assert config.smoothing == tuple(0.5 * s for s in cfg.smoothing)
    assert config.radius_px == 0.5 * cfg.radius_px
    assert config.atlas_lr_px == 0.5 * cfg.atlas_lr_px
    for name in ("n_iter", "em_steps", "reg_steps", "var_floor", "update_weights", "step_px"):
        assert getattr(config, name) == getattr(cfg, name), name
    assert pixel_scale(192.0 / cfg.size) == 1.0
    # an angle is not a length: the rotation bound is copied, not scaled
    assert config.max_angle_deg == cfg.max_rotation_deg


@pytest.fixture(scope="module")
def myops_tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("myops")
    return write_phantom_dataset("myops", out, cases=3, seed=0, size=64, n_slices=2)


def test_real_data_path_runs_with_the_chapter_configuration(myops_tree):
    torch.set_num_threads(2)
    results = run_chapter("mvmm", budget="quick", device="cpu", data=myops_tree)
    real = results.artifacts.real
    assert set(results.metrics) == {"dice_myo_mvmm", "dice_scar", "dice_edema"}
    assert results.metrics["dice_myo_mvmm"] > 0.3  # a segmentation, not an empty map
    assert results.data == str(myops_tree)
    # leave-one-out: the evaluated case is never one of its atlas cases
    assert real.case not in real.atlas_cases and len(real.atlas_cases) == 2
    # the same configuration as the phantom path, at this grid's pixel size
    case = real_data.MyoPS2020(myops_tree)[0]
    scale = pixel_scale(float(np.mean(case.spacing["bssfp"][-2:])))
    assert real.inputs.config == fit_config(results.settings, scale)


def test_one_case_folder_is_refused(tmp_path):
    tree = write_phantom_dataset("myops", tmp_path, cases=1, seed=0, size=64, n_slices=2)
    with pytest.raises(ValueError, match=r"at least 2 labelled MyoPS training cases"):
        run_chapter("mvmm", budget="quick", device="cpu", data=tree)


def test_cases_on_different_grids_are_refused_with_their_names(tmp_path):
    tree = write_phantom_dataset("myops", tmp_path / "a", cases=2, seed=0, size=64, n_slices=2)
    other = write_phantom_dataset("myops", tmp_path / "b", cases=2, seed=1, size=48, n_slices=2)
    for path in other.rglob("myops_training_102*.nii.gz"):
        shutil.copy(path, tree / path.relative_to(other))
    with pytest.raises(ValueError, match=r"case myops_training_102 has grid .* one grid"):
        real_data.fit_myops(select("quick", BUDGETS), tree, torch.device("cpu"))

"""The MvMM chapter runs end to end (quick budget) and a full-size config runs on CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zmic_lessons.core.budget import select
from zmic_lessons.data.labels import SEQUENCES
from zmic_lessons.mvmm import chapter, evaluation, experiment, lessons, settings
from zmic_lessons.mvmm.atlas import MYO_K, tissue_classes

REQUIRED = (
    "dice_myo_mvmm",
    "dice_myo_mvmm_bssfp",
    "dice_myo_mvmm_t2",
    "dice_myo_mvmm_lge",
    "dice_myo_single_best",
    "dice_myo_noreg",
    "dice_scar",
    "dice_edema",
    "dice_myo_missing_t2",
    "dice_edema_missing_t2",
    "dice_edema_zero_filled_t2",
    "t2_myo_darkest_mean_missing_t2",
    "t2_myo_darkest_mean_zero_filled_t2",
    "residual_translation_px",
    "regnet_dice_before",
    "regnet_dice_after",
)


@pytest.fixture(scope="module")
def quick():
    torch.set_num_threads(2)
    return chapter.run("quick", "cpu", seed=0, data=None, out=None)


def test_quick_run_reports_every_metric(quick):
    results = quick
    for name in REQUIRED:
        assert name in results.metrics, name
        assert math.isfinite(results.metrics[name]), name
    assert results.metrics["dice_myo_single_best"] == max(
        results.metrics[f"dice_myo_single_{s}"] for s in SEQUENCES
    )
    assert results.metrics["initial_translation_px"] > results.metrics["residual_translation_px"]
    # the MvMM is a real segmentation, not a constant map
    assert results.metrics["dice_myo_mvmm"] > 0.5
    assert results.to_dict()["chapter"] == "mvmm"
    # the reference sequence's space is the common space
    assert results.metrics["dice_myo_mvmm_bssfp"] == pytest.approx(results.metrics["dice_myo_mvmm"])


def test_full_size_config_runs_one_step_on_cpu():
    torch.set_num_threads(2)
    results = chapter.run(
        "full", "cpu", seed=1, data=None, out=None,
        n_slices=1, n_atlas=1, n_iter=1, reg_steps=1, atlas_scales=(1.0,),
        run_regnet=False,
    )  # fmt: skip
    assert results.settings.size == chapter.BUDGETS["full"].size
    assert math.isfinite(results.metrics["dice_myo_mvmm"])


def test_components_put_scar_and_oedema_in_the_myocardium():
    table = settings.components(2)
    assert table[SEQUENCES.index("lge")][2] == 2
    assert table[SEQUENCES.index("t2")][2] == 3  # dark pixels, normal myocardium, oedema
    assert table[SEQUENCES.index("bssfp")][2] == 1


def test_subset_dice_with_every_sequence_is_the_chapter_metric(quick):
    exp = quick.artifacts.experiment
    full = lessons.subset_dice(exp, ["lge", "bssfp", "t2"])
    assert full == pytest.approx(quick.metrics["dice_myo_mvmm"])
    assert 0.0 <= lessons.subset_dice(exp, ("t2",)) <= 1.0
    with pytest.raises(ValueError, match="non-empty subset"):
        lessons.subset_dice(exp, ["flair"])


def test_iteration_frames_follow_the_snapshots(quick):
    fit = quick.artifacts.fit
    frames, titles = lessons.iteration_frames(fit, 0)
    assert len(frames) == len(fit.snapshots) == len(titles) > 1
    assert set(frames[0]) == {"segmentation", "myocardium posterior", *SEQUENCES}
    assert frames[-1]["segmentation"].shape == frames[-1]["bssfp"].shape


def test_class_densities_are_the_fitted_mixtures(quick):
    fit = quick.artifacts.fit
    v = torch.linspace(-1.0, 2.0, 3001, dtype=fit.params.mu.dtype)
    dens = lessons.class_densities(fit, v)
    assert dens.shape == (len(SEQUENCES), fit.params.mu.shape[1], v.numel())
    area = dens.sum(-1) * (v[1] - v[0])  # each class mixture integrates to one
    assert torch.allclose(area, torch.ones_like(area), atol=1e-2)


def test_pathology_dice_on_chosen_slices(quick):
    fit = quick.artifacts.fit
    labels = quick.artifacts.experiment.case.common_labels
    every = np.ones(labels.shape[0], dtype=bool)
    assert evaluation.pathology_dice(fit, labels, every) == pytest.approx(
        evaluation.pathology_dice(fit, labels)
    )


def test_darkest_myocardial_mean_is_the_smaller_active_component(quick):
    fit = quick.artifacts.fit
    i = SEQUENCES.index("t2")
    active = fit.params.mu[i, MYO_K][fit.params.active[i, MYO_K]]
    assert evaluation.darkest_myocardial_mean(fit, "t2") == pytest.approx(float(active.min()))


def test_observed_values_are_the_acquired_intensities(quick):
    fit = quick.artifacts.fit
    every = lessons.observed_values(fit, 0)
    assert every.size == int(fit.coverage[0].sum())
    myo = lessons.observed_values(fit, 0, MYO_K)
    assert 0 < myo.size < every.size


def test_template_placement_gives_one_atlas_shift_per_slice():
    cfg = select("quick", chapter.BUDGETS, atlas_placement="template")
    exp = experiment.make_experiment(cfg, 0, torch.device("cpu"))
    assert exp.atlas_init.shift.shape == (cfg.n_slices, 2)
    assert exp.mask.sum() > 0
    bad = select("quick", chapter.BUDGETS, atlas_placement="manual")
    with pytest.raises(ValueError, match="atlas_placement"):
        experiment.make_experiment(bad, 0, torch.device("cpu"))


def test_the_true_transform_leaves_no_residual(quick):
    exp, fit = quick.artifacts.experiment, quick.artifacts.fit
    truth = experiment.true_transform(exp.case, fit.transform.fixed)
    assert evaluation.residual_misalignment(truth, exp.case, exp.mask) == pytest.approx((0.0, 0.0))
    assert quick.metrics["residual_translation_px"] > 0.0


def test_label_atlas_is_the_case_itself(quick):
    cfg = quick.settings
    labels = quick.artifacts.experiment.case.common_labels
    atlas, mask = experiment.label_atlas(cfg, labels, torch.device("cpu"))
    classes = tissue_classes(labels)
    heart = classes > 0
    assert bool(mask.numpy()[heart].all())
    assert evaluation.myo_dice(labels, atlas.argmax(0)) > 0.9


def test_results_table_is_markdown_without_missing_rows(quick):
    table = lessons.results_table(quick.metrics)
    lines = table.splitlines()
    assert all(line.count("|") == 3 for line in lines)  # two columns on every row
    assert f"{quick.metrics['dice_myo_mvmm']:.3f}" in lines[2]
    without_regnet = {k: v for k, v in quick.metrics.items() if not k.startswith("regnet")}
    assert len(lessons.results_table(without_regnet).splitlines()) == len(lines) - 2


def test_first_em_step_is_one_em_iteration_from_the_fit_start(quick):
    step = lessons.first_em_step(quick.artifacts.experiment)
    assert step.ll_after > step.ll_before
    assert step.gamma.shape == step.prior.shape
    torch.testing.assert_close(step.gamma.sum(0), torch.ones_like(step.gamma[0]))
    # the fit's first EM iteration starts from the same state: the same likelihood
    first = quick.artifacts.fit.history[0]["ll_trace"][0]
    assert step.ll_before == pytest.approx(first, rel=1e-5)

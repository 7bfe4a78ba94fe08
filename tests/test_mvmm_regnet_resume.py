"""MvMM-RegNet under the chapter's checkpoint contract: a resumed run retrains nothing."""

from __future__ import annotations

import torch

from zmic_lessons.core.budget import select
from zmic_lessons.mvmm import regnet_experiment
from zmic_lessons.mvmm.settings import BUDGETS


def test_regnet_checkpoints_and_resumes_without_training(tmp_path, monkeypatch):
    cfg = select("quick", BUDGETS, regnet_steps=4)
    cpu = torch.device("cpu")
    first = regnet_experiment.run_regnet(cfg, cpu, seed=0, out=tmp_path)
    assert (tmp_path / "checkpoints" / "regnet").is_dir()
    steps = []
    trainer = regnet_experiment.fit

    def counting(model, loss_fn, batches, **kwargs):
        def loss(m, batch):
            steps.append(1)
            return loss_fn(m, batch)

        return trainer(model, loss, batches, **kwargs)

    monkeypatch.setattr(regnet_experiment, "fit", counting)
    again = regnet_experiment.run_regnet(cfg, cpu, seed=0, out=tmp_path, resume=True)
    assert not steps, "a complete checkpoint was trained again"
    assert again.metrics == first.metrics


def test_the_chapter_resumes_through_run_chapter(tmp_path):
    from zmic_lessons.chapters import run_chapter

    first = run_chapter("mvmm", budget="quick", device="cpu", out=tmp_path)
    assert (tmp_path / "checkpoints" / "regnet").is_dir()
    again = run_chapter("mvmm", budget="quick", device="cpu", out=tmp_path, resume=True)
    assert again.metrics == first.metrics

"""Tests for zmic_lessons.core.checkpoint: atomic writes, full restore, clear errors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from zmic_lessons.core.checkpoint import load_checkpoint, save_checkpoint, unwrap_model


def _setup(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.StepLR]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return model, opt, sched


def _train_one(model: nn.Module, opt: torch.optim.Optimizer, sched) -> None:
    loss = model(torch.randn(8, 3)).square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_roundtrip_restores_model_optimizer_scheduler_step_extra(tmp_path: Path) -> None:
    model, opt, sched = _setup(0)
    for _ in range(3):
        _train_one(model, opt, sched)
    path = save_checkpoint(tmp_path / "ck" / "a.pt", model, opt, sched, step=3, extra={"note": "x"})
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["a.pt"]  # no temporary file left

    other, opt2, sched2 = _setup(1)
    ckpt = load_checkpoint(path, other, opt2, sched2)
    assert ckpt["step"] == 3 and ckpt["extra"] == {"note": "x"}
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_rng_states_restored_so_runs_continue_identically(tmp_path: Path) -> None:
    model, opt, sched = _setup(0)
    random.seed(1)
    np.random.seed(1)
    save_checkpoint(tmp_path / "c.pt", model, opt, sched, step=0)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    _train_one(model, opt, sched)  # advance every generator
    load_checkpoint(tmp_path / "c.pt", model, opt, sched)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_ddp_wrapper_is_unwrapped_for_saving(tmp_path: Path) -> None:
    model, _, _ = _setup(0)
    wrapped = nn.DataParallel(model)  # same .module attribute as DistributedDataParallel
    assert unwrap_model(wrapped) is model
    save_checkpoint(tmp_path / "w.pt", wrapped)
    keys = load_checkpoint(tmp_path / "w.pt")["model"].keys()
    assert not any(k.startswith("module.") for k in keys)


def test_missing_and_corrupt_checkpoints_name_the_file(tmp_path: Path) -> None:
    model, _, _ = _setup(0)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt", model)
    good = save_checkpoint(tmp_path / "good.pt", model)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:100])  # truncated
    with pytest.raises(RuntimeError, match="bad.pt"):
        load_checkpoint(bad, model)
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(RuntimeError, match="junk.pt"):
        load_checkpoint(junk, model)
    with pytest.raises(RuntimeError, match="does not fit"):
        load_checkpoint(good, nn.Linear(2, 2))


def test_failed_save_keeps_previous_file(tmp_path: Path) -> None:
    model, _, _ = _setup(0)
    path = save_checkpoint(tmp_path / "k.pt", model, step=1)

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, model, step=2, extra={"bad": Unsaveable()})
    assert load_checkpoint(path, model)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["k.pt"]

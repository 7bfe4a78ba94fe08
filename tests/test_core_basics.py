"""Tests for the lead's core modules: seeding, device choice, budgets and results."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from zmic_lessons.core import (
    BUDGETS,
    Results,
    budget_from_env,
    get_device,
    load_results,
    make_rng,
    seed_everything,
    select,
    torch_generator,
)


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_makes_all_generators_reproducible() -> None:
    rng_a = seed_everything(7)
    first = _draws()
    a = rng_a.random()
    rng_b = seed_everything(7)
    assert _draws() == first and rng_b.random() == a
    seed_everything(8)
    assert _draws() != first
    with pytest.raises(ValueError, match="non-negative"):
        seed_everything(-1)


def test_make_rng_and_torch_generator_are_independent_of_global_state() -> None:
    gen = np.random.default_rng(3)
    assert make_rng(gen) is gen
    assert make_rng(5).random() == np.random.default_rng(5).random()
    torch.manual_seed(0)
    x = torch.rand(3, generator=torch_generator(11))
    torch.manual_seed(99)
    assert torch.equal(torch.rand(3, generator=torch_generator(11)), x)


def test_auto_device_falls_back_to_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device("auto") == torch.device("cpu")
    assert get_device(None) == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda:1")
    with pytest.raises(ValueError, match="unknown device"):
        get_device("gpu please")


@dataclasses.dataclass(frozen=True)
class _Cfg:
    steps: int
    size: int = 32


TABLE = {"quick": _Cfg(2), "standard": _Cfg(100), "full": _Cfg(5000, size=128)}


def test_budget_select_overrides_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BUDGETS == ("quick", "standard", "full")
    assert select("standard", TABLE) == _Cfg(100)
    assert select("full", TABLE, steps=3) == _Cfg(3, size=128)
    assert select("quick", TABLE, steps=None) == _Cfg(2)  # None means "no override"
    with pytest.raises(TypeError, match="unknown setting.*'epochs'"):
        select("quick", TABLE, epochs=3)
    with pytest.raises(ValueError, match="unknown budget"):
        select("huge", TABLE)
    monkeypatch.delenv("ZMIC_BUDGET", raising=False)
    assert budget_from_env() == "standard"
    monkeypatch.setenv("ZMIC_BUDGET", "quick")
    assert budget_from_env() == "quick"
    monkeypatch.setenv("ZMIC_BUDGET", "tiny")
    with pytest.raises(ValueError, match="unknown budget"):
        budget_from_env()


def test_results_save_writes_json_with_nan_as_null(tmp_path: Path) -> None:
    res = Results(chapter="demo", budget="quick", device="cpu", seed=0)
    res.metrics.update(dice=0.75, hd95=float("nan"), assd=math.inf)
    res.artifacts["big"] = np.zeros(10)
    with res.timed("train"):
        pass
    path = res.save(tmp_path / "out")
    assert path == tmp_path / "out" / "results.json"
    data = json.loads(path.read_text())
    assert data["metrics"] == {"dice": 0.75, "hd95": None, "assd": None}
    assert data["chapter"] == "demo" and data["seed"] == 0 and data["budget"] == "quick"
    assert "train" in data["timing_s"] and "artifacts" not in data
    assert "torch" in data["versions"] and "python" in data["versions"]
    assert load_results(tmp_path / "out") == data
    assert not list((tmp_path / "out").glob("*.tmp"))
    assert "dice" in res.table()

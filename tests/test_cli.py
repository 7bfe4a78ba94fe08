"""The command line and the chapter registry."""

from __future__ import annotations

import json
import types

import pytest

from zmic_lessons import chapters, cli
from zmic_lessons.core.results import Results


@pytest.fixture
def fake_chapter(monkeypatch):
    """Register a tiny chapter module so the CLI path runs end to end in milliseconds."""
    calls = {}

    def run(budget, device, seed, data, out, **overrides):
        calls.update(budget=budget, device=device, seed=seed, data=data, overrides=overrides)
        return Results(
            chapter="fake",
            budget=budget,
            device=str(device),
            seed=seed,
            metrics={"dice": 0.5 + seed / 100},
        )

    module = types.ModuleType("fake_chapter_module")
    module.TITLE = "A fake chapter"
    module.run = run
    monkeypatch.setitem(chapters.CHAPTERS, "fake", "fake_chapter_module")
    monkeypatch.setitem(__import__("sys").modules, "fake_chapter_module", module)
    monkeypatch.setattr(chapters, "_module_exists", lambda name: name == "fake_chapter_module")
    return calls


def test_run_writes_results_json(fake_chapter, tmp_path, capsys):
    code = cli.main(["run", "fake", "--budget", "quick", "--seed", "3", "--out", str(tmp_path)])
    assert code == 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["chapter"] == "fake" and saved["budget"] == "quick" and saved["seed"] == 3
    assert saved["metrics"] == {"dice": pytest.approx(0.53)}
    assert saved["device"] == "cpu" or saved["device"].startswith("cuda")
    assert {"total"} <= set(saved["timing_s"]) and "torch" in saved["versions"]
    assert "dice" in capsys.readouterr().out
    assert fake_chapter["budget"] == "quick" and fake_chapter["data"] is None


def test_unknown_chapter_lists_available(fake_chapter, capsys):
    assert cli.main(["run", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown chapter 'nonsense'" in err and "fake" in err


def test_planned_but_missing_chapter_is_explained(fake_chapter, capsys):
    assert cli.main(["run", "atrial"]) == 2
    assert "not available in this version" in capsys.readouterr().err


def test_bad_budget_is_rejected_by_argparse(fake_chapter):
    with pytest.raises(SystemExit):
        cli.main(["run", "fake", "--budget", "huge"])


def test_missing_data_folder_is_a_clear_error(fake_chapter, tmp_path, capsys):
    missing = tmp_path / "no_such_dir"
    assert cli.main(["run", "fake", "--data", str(missing), "--out", str(tmp_path)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_cuda_request_without_cuda_is_a_clear_error(fake_chapter, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert cli.main(["run", "fake", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_list_prints_available(fake_chapter, capsys):
    assert cli.main(["list"]) == 0
    assert capsys.readouterr().out.split() == ["fake"]


def test_overrides_reach_the_chapter(fake_chapter):
    chapters.run_chapter("fake", budget="full", device="cpu", steps=2)
    assert fake_chapter["overrides"] == {"steps": 2}


def test_set_overrides_reach_the_chapter_typed(fake_chapter, tmp_path, monkeypatch):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Settings:
        steps: int = 10
        lr: float = 1e-3
        smoothing: tuple[float, ...] = (2.0, 1.0)
        run_extra: bool = True
        name: str | None = None

    sys_module = __import__("sys").modules["fake_chapter_module"]
    monkeypatch.setattr(sys_module, "Settings", Settings, raising=False)
    argv = ["run", "fake", "--out", str(tmp_path), "--set", "steps=3", "--set", "lr=0.5"]
    argv += ["--set", "smoothing=1,0", "--set", "run_extra=false", "--set", "name=x"]
    assert cli.main(argv) == 0
    assert fake_chapter["overrides"] == {
        "steps": 3,
        "lr": 0.5,
        "smoothing": (1.0, 0.0),
        "run_extra": False,
        "name": "x",
    }


def test_set_unknown_or_malformed_is_refused(fake_chapter, tmp_path, monkeypatch, capsys):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Settings:
        steps: int = 10

    sys_module = __import__("sys").modules["fake_chapter_module"]
    monkeypatch.setattr(sys_module, "Settings", Settings, raising=False)
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--set", "stepz=3"]) == 2
    assert "unknown setting" in capsys.readouterr().err
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--set", "steps=abc"]) == 2
    assert "expected int" in capsys.readouterr().err
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--set", "steps"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err

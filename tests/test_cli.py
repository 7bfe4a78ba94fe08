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


# --------------------------------------------------------------------------- nothing overwritten


@pytest.fixture
def resumable_chapter(monkeypatch):
    """A fake chapter whose run takes ``resume`` and writes a checkpoint, as the contract says."""
    calls = {}

    def run(budget, device, seed, data, out, resume=False, **overrides):
        calls.update(resume=resume, out=out, overrides=overrides)
        if out is not None:
            (out / "checkpoints" / "net").mkdir(parents=True, exist_ok=True)
            (out / "checkpoints" / "net" / "last.pt").write_bytes(b"ckpt")
        if overrides.get("interrupt"):
            raise KeyboardInterrupt
        return Results(chapter="fake2", budget=budget, device=str(device), seed=seed)

    module = types.ModuleType("fake2_chapter_module")
    module.run = run
    monkeypatch.setitem(chapters.CHAPTERS, "fake2", "fake2_chapter_module")
    monkeypatch.setitem(__import__("sys").modules, "fake2_chapter_module", module)
    monkeypatch.setattr(chapters, "_module_exists", lambda name: name.startswith("fake"))
    return calls


def test_run_refuses_to_replace_results_json_unless_forced(fake_chapter, tmp_path, capsys):
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--seed", "1"]) == 0
    before = (tmp_path / "results.json").read_text()
    fake_chapter.clear()
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--seed", "2"]) == 2
    assert "results.json exists" in capsys.readouterr().err
    assert fake_chapter == {}  # refused before the chapter ran
    assert (tmp_path / "results.json").read_text() == before
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--seed", "2", "--force"]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["seed"] == 2


def test_bad_out_is_refused_before_any_compute(fake_chapter, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    for out, message in ((str(a_file), "is a file"), ("", "empty path"), ("  ", "empty path")):
        assert cli.main(["run", "fake", "--out", out]) == 2
        assert message in capsys.readouterr().err
    assert fake_chapter == {}
    assert a_file.read_text() == "mine"


def test_read_only_out_is_refused_before_any_compute(fake_chapter, tmp_path, capsys):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert cli.main(["run", "fake", "--out", str(locked)]) == 2
        assert "not writable" in capsys.readouterr().err
        assert fake_chapter == {}
    finally:
        locked.chmod(0o700)


def test_phantom_refuses_a_non_empty_folder(tmp_path, capsys):
    real = tmp_path / "download"
    mine = real / "MyoPS2020" / "train25" / "myops_training_101_DE.nii.gz"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's real file")
    assert cli.main(["phantom", "myops", "--cases", "1", "--out", str(real)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert mine.read_bytes() == b"the user's real file"
    assert cli.main(["phantom", "myops", "--cases", "1", "--out", ""]) == 2
    assert cli.main(["phantom", "myops", "--cases", "1", "--out", str(mine)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["phantom", "myops", "--cases", "1", "--out", str(real), "--force"]) == 0
    assert mine.read_bytes() != b"the user's real file"


def test_resume_is_passed_through_and_checkpoints_are_not_reused_silently(
    resumable_chapter, tmp_path, capsys
):
    out = str(tmp_path / "run")
    assert cli.main(["run", "fake2", "--out", out]) == 0
    assert resumable_chapter["resume"] is False
    assert cli.main(["run", "fake2", "--out", out, "--resume"]) == 0
    assert resumable_chapter["resume"] is True
    (tmp_path / "run" / "results.json").unlink()
    assert cli.main(["run", "fake2", "--out", out]) == 2  # stale checkpoints, no --resume
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["run", "fake2", "--out", out, "--force"]) == 0
    assert resumable_chapter["resume"] is False
    assert cli.main(["run", "fake2", "--out", out, "--resume", "--seed", "5"]) == 2
    assert "started with seed=0" in capsys.readouterr().err


def test_resume_needs_a_chapter_that_can(fake_chapter, tmp_path, capsys):
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_ctrl_c_keeps_checkpoints_and_says_how_to_resume(resumable_chapter, tmp_path, capsys):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Settings:
        interrupt: bool = False

    module = __import__("sys").modules["fake2_chapter_module"]
    module.Settings = Settings
    out = tmp_path / "run"
    code = cli.main(["run", "fake2", "--out", str(out), "--set", "interrupt=true"])
    assert code == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "checkpoints kept" in err and "net" in err
    assert f"zmic-lessons run fake2 --out {out} --set interrupt=true --resume" in err
    assert (out / "checkpoints" / "net" / "last.pt").is_file()
    assert not (out / "results.json").exists()
    note = json.loads((out / "interrupted.json").read_text())
    assert note["checkpoints"] == ["checkpoints/net/last.pt"]
    argv = ["run", "fake2", "--out", str(out), "--set", "interrupt=false", "--resume"]
    assert cli.main(argv) == 2  # other settings than the interrupted run: refused
    assert "started with overrides" in capsys.readouterr().err
    argv = ["run", "fake2", "--out", str(out), "--set", "interrupt=true", "--resume"]
    assert cli.main(argv) == 130 and resumable_chapter["resume"] is True


def test_results_save_is_atomic(tmp_path, monkeypatch):
    Results(chapter="a", budget="quick", device="cpu", seed=0).save(tmp_path)
    before = (tmp_path / "results.json").read_text()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Results(chapter="b", budget="quick", device="cpu", seed=1).save(tmp_path)
    assert (tmp_path / "results.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_unwritable_out_is_refused_even_as_root(fake_chapter, tmp_path, monkeypatch, capsys):
    real_write = chapters.Path.write_bytes

    def refuse(self, data):
        if self.name.startswith(".zmic-write-test"):
            raise PermissionError(13, "Permission denied")
        return real_write(self, data)

    monkeypatch.setattr(chapters.Path, "write_bytes", refuse)
    assert cli.main(["run", "fake", "--out", str(tmp_path / "x")]) == 2
    assert "not writable" in capsys.readouterr().err
    assert fake_chapter == {}


# --------------------------------------------------------------------------- real fit, end to end


@pytest.fixture
def training_chapter(monkeypatch):
    """A chapter following run_chapter's contract with the real ``fit`` (a tiny linear model)."""
    import dataclasses

    import torch

    from zmic_lessons.core.training import fit

    @dataclasses.dataclass(frozen=True)
    class Settings:
        steps: int = 12
        lr: float = 0.05

    stop = {"at": 0}  # simulate Ctrl-C at this step (0: never)

    def run(budget, device, seed, data, out, resume=False, **overrides):
        settings = dataclasses.replace(Settings(), **overrides)
        torch.manual_seed(seed)
        model = torch.nn.Linear(3, 1)
        x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]])

        def loss_fn(net, step):
            if stop["at"] and int(step) == stop["at"]:
                raise KeyboardInterrupt
            return torch.nn.functional.mse_loss(net(x), y)

        fit(
            model, loss_fn, lambda step: torch.tensor(step), steps=settings.steps,
            lr=settings.lr, device=device, progress=False, resume=resume,
            checkpoint_dir=None if out is None else out / "checkpoints" / "linear",
            checkpoint_every=4, config={"steps": settings.steps, "lr": settings.lr},
        )  # fmt: skip
        weight = model.weight.detach().flatten().tolist()
        return Results(
            chapter="trainer", budget=budget, device=str(device), seed=seed,
            metrics={f"w{i}": w for i, w in enumerate(weight)},
        )  # fmt: skip

    module = types.ModuleType("trainer_chapter_module")
    module.run, module.Settings = run, Settings
    monkeypatch.setitem(chapters.CHAPTERS, "trainer", "trainer_chapter_module")
    monkeypatch.setitem(__import__("sys").modules, "trainer_chapter_module", module)
    monkeypatch.setattr(chapters, "_module_exists", lambda name: name.startswith("trainer"))
    return stop


def test_interrupted_run_resumes_to_the_uninterrupted_result(training_chapter, tmp_path, capsys):
    whole = chapters.run_chapter("trainer", budget="quick", device="cpu", out=tmp_path / "a")
    out = str(tmp_path / "b")
    argv = ["run", "trainer", "--budget", "quick", "--device", "cpu", "--out", out]
    training_chapter["at"] = 10  # Ctrl-C at step 10: the checkpoint of step 8 is kept
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "checkpoints kept" in err and "linear/last.pt" in err and "--resume" in err
    training_chapter["at"] = 0
    # a fresh run would reuse nothing silently; a resume with other settings is refused
    assert cli.main(argv) == 2
    assert cli.main([*argv, "--set", "lr=0.1", "--resume"]) == 2
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    resumed = json.loads((tmp_path / "b" / "results.json").read_text())["metrics"]
    assert resumed == pytest.approx(whole.metrics, rel=0, abs=0)  # bit for bit
    assert not (tmp_path / "b" / "interrupted.json").exists()


@pytest.mark.parametrize("writes_checkpoint", [True, False])
def test_ctrl_c_hint_for_a_chapter_that_cannot_resume(
    monkeypatch, tmp_path, capsys, writes_checkpoint
):
    def run(budget, device, seed, data, out, **overrides):  # no resume argument
        if writes_checkpoint:
            (out / "checkpoints" / "net").mkdir(parents=True)
            (out / "checkpoints" / "net" / "last.pt").write_bytes(b"ckpt")
        raise KeyboardInterrupt

    module = types.ModuleType("old_chapter_module")
    module.run = run
    monkeypatch.setitem(chapters.CHAPTERS, "old", "old_chapter_module")
    monkeypatch.setitem(__import__("sys").modules, "old_chapter_module", module)
    monkeypatch.setattr(chapters, "_module_exists", lambda name: name == "old_chapter_module")
    out = tmp_path / "run"
    assert cli.main(["run", "old", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--resume" not in err
    if writes_checkpoint:
        assert "cannot resume" in err and f"run old --out {out} --force" in err
    else:
        assert f"to run again: zmic-lessons run old --out {out}" in err


def test_without_out_every_run_gets_a_new_folder(fake_chapter, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "fake", "--budget", "quick"]) == 0
    assert cli.main(["run", "fake", "--budget", "quick"]) == 0
    runs = sorted((tmp_path / "results" / "fake").iterdir())
    assert len(runs) == 2 and all((r / "results.json").is_file() for r in runs)
    assert all(r.name.startswith("quick-seed0-") for r in runs)
    assert str(runs[-1].relative_to(tmp_path)) in capsys.readouterr().out


def test_restore_command_writes_next_to_the_input(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    image = (np.linspace(0, 255, 32 * 32).reshape(32, 32)).astype(np.uint8)
    src = tmp_path / "mine.png"
    Image.fromarray(image).save(src)
    argv = ["restore", str(src), "--method", "bicubic", "--budget", "quick"]
    assert cli.main(argv) == 0
    written = [p for p in tmp_path.iterdir() if p.name != "mine.png"]
    assert len(written) == 1 and written[0].name.startswith("mine_bicubic_sr")
    assert "->" in capsys.readouterr().out
    # a second run does not overwrite the result silently
    assert cli.main(argv) == 2
    assert "exist" in capsys.readouterr().err
    assert cli.main(["restore", str(tmp_path / "absent.png")]) == 2
    assert "no file" in capsys.readouterr().err


def test_evaluate_scar_command_scores_own_files(tmp_path, capsys):
    import numpy as np

    from zmic_lessons.io import write_nifti

    z, y, x = np.mgrid[:20, :24, :24]
    ball = (z - 10) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 36
    labels = np.where(ball, 1, 0).astype(np.uint8)
    shell = ball & ((z - 10) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 >= 25) & (x > 12)
    labels[shell] = 3
    write_nifti(tmp_path / "gt.nii.gz", labels, spacing=(2.0, 1.0, 1.0))
    write_nifti(tmp_path / "pred.nii.gz", labels, spacing=(2.0, 1.0, 1.0))
    out_json = tmp_path / "m.json"
    argv = ["evaluate-scar", str(tmp_path / "pred.nii.gz"), str(tmp_path / "gt.nii.gz")]
    assert cli.main([*argv, "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "la_dice" in printed and "scar_dice" in printed
    saved = json.loads(out_json.read_text())
    assert saved["la_dice"] == pytest.approx(1.0) and saved["scar_dice"] == pytest.approx(1.0)
    assert cli.main([*argv, "--json", str(out_json)]) == 2  # never overwritten
    assert "exists" in capsys.readouterr().err
    missing = ["evaluate-scar", str(tmp_path / "no.nii.gz"), str(tmp_path / "gt.nii.gz")]
    assert cli.main(missing) == 2
    assert "no.nii.gz" in capsys.readouterr().err

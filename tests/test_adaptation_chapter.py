"""The chapter at the quick budget, on the phantom and on phantom files in the real layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmic_lessons.adaptation import chapter
from zmic_lessons.adaptation.settings import METHODS
from zmic_lessons.chapters import run_chapter
from zmic_lessons.data import write_phantom_dataset
from zmic_lessons.data.errors import MissingDataError


def _expected(suffix: str) -> set[str]:
    return {f"dice_{m}{suffix}" for m in METHODS}


def test_quick_run_writes_every_metric(tmp_path: Path) -> None:
    results = run_chapter("adaptation", budget="quick", seed=0, out=tmp_path)
    assert _expected("") | _expected("_ct2mr") <= set(results.metrics)
    assert all(0.0 <= results.metrics[k] <= 1.0 for k in _expected("") | _expected("_ct2mr"))
    assert (tmp_path / "results.json").is_file()
    assert isinstance(results.artifacts, chapter.Artifacts)
    assert set(results.artifacts.runs) == {"bssfp2lge", "ct2mr"}


def test_resume_reuses_the_complete_checkpoints(tmp_path: Path) -> None:
    first = run_chapter("adaptation", budget="quick", device="cpu", out=tmp_path)
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").rglob("last.pt")}
    assert {p.parent.name for p in saved} == {
        f"{t}_{m}" for t in ("bssfp2lge", "ct2mr") for m in METHODS
    }
    again = run_chapter("adaptation", budget="quick", device="cpu", out=tmp_path, resume=True)
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # nothing trained again
    assert again.metrics == first.metrics


def test_unknown_setting_and_method_raise() -> None:
    with pytest.raises(TypeError, match="unknown setting"):
        chapter.run(budget="quick", no_such_knob=1)
    with pytest.raises(ValueError, match="unknown method"):
        chapter.run(budget="quick", methods=("magic",))


def test_real_layouts_through_the_loaders(tmp_path: Path) -> None:
    write_phantom_dataset("mscmrseg", tmp_path, cases=3, seed=0, size=64, n_slices=4)
    write_phantom_dataset("mmwhs", tmp_path, cases=3, seed=1, size=64, n_slices=3)
    results = chapter.run(budget="quick", data=tmp_path, methods=("source_only", "cfdnet", "varda"))
    assert {"dice_source_only", "dice_cfdnet_ct2mr", "dice_varda_ct2mr"} <= set(results.metrics)
    run = results.artifacts.runs["bssfp2lge"]
    assert run.task.source_train.images.shape[-1] == 32
    assert len(run.task.target_test) > 0


def test_missing_data_names_what_it_expected(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="MS-CMRSeg"):
        chapter.run(budget="quick", data=tmp_path, methods=("source_only",))

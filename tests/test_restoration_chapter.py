"""The restoration chapter end to end at the quick budget, on the packaged and on own images."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imread, imsave

from zmic_lessons.chapters import run_chapter
from zmic_lessons.io import read_nifti, write_nifti
from zmic_lessons.restoration import Artifacts, restore_file

SR = ("bicubic", "plain_cnn", "ronet", "bayesr_sup", "bayesr_unsup")
DENOISE = ("noisy", "ronet_denoise", "plain_cnn_denoise")


def test_quick_run_reports_every_metric() -> None:
    results = run_chapter("restoration", budget="quick", device="cpu", seed=0)
    names = [f"{p}_{m}" for m in SR for p in ("psnr", "ssim", "lr_psnr")]
    names += [f"{p}_{m}" for m in DENOISE for p in ("psnr", "ssim")]
    for name in names:
        assert math.isfinite(results.metrics[name]), name
    assert results.metrics["rodec_over_svd_energy"] >= 1.0
    art = results.artifacts
    assert isinstance(art, Artifacts)
    assert set(art.models) == {"ronet", "plain_cnn", "bayesr_sup", "bayesr_unsup",
                               "ronet_denoise", "plain_cnn_denoise"}  # fmt: skip
    assert not set(art.data.test) & set(art.data.train), "a test image was used for training"
    assert art.outputs["ronet"][0].shape == art.cases[0].hr.shape


def test_resume_reuses_the_complete_checkpoints(tmp_path: Path) -> None:
    first = run_chapter("restoration", budget="quick", device="cpu", out=tmp_path)
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").rglob("last.pt")}
    names = {"rodec", "ronet_sr", "plain_sr", "bayesr_sup", "bayesr_unsup", "ronet_denoise"}
    assert {p.parent.name for p in saved} == names | {"plain_denoise"}
    again = run_chapter("restoration", budget="quick", device="cpu", out=tmp_path, resume=True)
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # nothing trained again
    assert again.metrics == first.metrics


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown setting"):
        run_chapter("restoration", budget="quick", no_such_knob=1)


def test_run_on_a_folder_of_own_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        imsave(tmp_path / f"{name}.png", (rng.random((40, 40)) * 255).astype(np.uint8))
    results = run_chapter(
        "restoration", budget="quick", data=tmp_path, test_images=("c.png",), run_denoise=False,
        run_bayesr=False,
    )  # fmt: skip
    assert list(results.artifacts.data.test) == ["c.png"]
    assert math.isfinite(results.metrics["psnr_ronet"])
    with pytest.raises(FileNotFoundError, match="held-out"):
        run_chapter("restoration", budget="quick", data=tmp_path, test_images=("z.png",))


def test_restore_file_writes_next_to_the_input_and_never_overwrites(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    imsave(src, (np.random.default_rng(1).random((20, 24)) * 255).astype(np.uint8))
    out = restore_file(src, task="sr", budget="quick", method="plain_cnn")
    assert out == tmp_path / "photo_plain_cnn_sr.png"
    assert imread(out).shape == (40, 48)
    with pytest.raises(FileExistsError, match="overwrite"):
        restore_file(src, task="sr", budget="quick", method="plain_cnn")
    assert restore_file(src, task="sr", budget="quick", method="bicubic").is_file()


def test_restore_file_on_a_nifti_slice(tmp_path: Path) -> None:
    src = tmp_path / "vol.nii.gz"
    volume = np.random.default_rng(2).random((3, 16, 20)).astype(np.float32) * 400
    write_nifti(src, volume, spacing=(5.0, 1.0, 1.2))
    out = restore_file(src, task="denoise", budget="quick", method="ronet", slice_index=1)
    assert out.name == "vol_ronet_denoise.nii.gz"
    img = read_nifti(out)
    assert img.array.shape == (16, 20)
    assert img.spacing == pytest.approx((1.0, 1.2))

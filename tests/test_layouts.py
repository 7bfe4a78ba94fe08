"""Phantom -> files in each real layout -> loader -> the same arrays, labels and spacing."""

from __future__ import annotations

import numpy as np
import pytest

from zmic_lessons.cli import main as cli_main
from zmic_lessons.data.datasets import ACDC, MMWHS, MMWHS2D, LAScarQS, MSCMRSeg, MyoPS2020
from zmic_lessons.data.layouts import LAYOUTS, phantom_cases, write_phantom_dataset

SMALL = {"size": 32, "n_slices": 2}


def _same(loaded, expected) -> None:
    assert [c.name for c in loaded] == [c.name for c in expected]
    for got, want in zip(loaded, expected, strict=True):
        assert set(got.images) == set(want.images)
        for key in want.images:
            np.testing.assert_array_equal(got.images[key], want.images[key].astype(np.float32))
            np.testing.assert_array_equal(got.labels[key], want.labels[key])
            assert got.labels[key].dtype == np.uint8
            assert got.spacing[key] == pytest.approx(want.spacing[key], abs=1e-5)
        for key in want.scribbles:
            np.testing.assert_array_equal(got.scribbles[key], want.scribbles[key])


@pytest.mark.parametrize(
    ("layout", "loaders"),
    [
        ("mscmrseg", {"mscmrseg": lambda r: MSCMRSeg(r)}),
        ("myops", {"myops": lambda r: MyoPS2020(r)}),
        ("acdc", {"acdc": lambda r: ACDC(r)}),
        (
            "mmwhs",
            {
                "ct": lambda r: MMWHS(r, "ct"),
                "mr": lambda r: MMWHS(r, "mr"),
                "ct2d": lambda r: MMWHS2D(r.parent / "CT_MR_2D_Dataset_DA", "ct"),
                "mr2d": lambda r: MMWHS2D(r.parent / "CT_MR_2D_Dataset_DA", "mr"),
            },
        ),
        (
            "lascarqs",
            {"task1": lambda r: LAScarQS(r, task=1), "task2": lambda r: LAScarQS(r, task=2)},
        ),
    ],
)
def test_round_trip(tmp_path, layout, loaders):
    cases = 2 if layout in ("myops", "acdc") else 1
    size = {"size": 24} if layout == "lascarqs" else SMALL
    root = write_phantom_dataset(layout, tmp_path, cases=cases, seed=3, **size)
    expected = phantom_cases(layout, cases=cases, seed=3, **size)
    assert set(expected) == set(loaders)
    for view, make in loaders.items():
        _same(list(make(root)), expected[view])


def test_mscmrseg_sequences_are_in_their_own_spaces(tmp_path):
    root = write_phantom_dataset("mscmrseg", tmp_path, cases=1, seed=0, size=32, n_slices=5)
    case = MSCMRSeg(root)[0]
    assert case.images["t2"].shape[0] < case.images["bssfp"].shape[0]  # T2 covers fewer slices
    assert set(np.unique(case.labels["lge"])) <= {0, 1, 2, 3}


def test_acdc_has_ed_es_info_and_scribbles(tmp_path):
    root = write_phantom_dataset("acdc", tmp_path, cases=1, seed=1, **SMALL)
    data = ACDC(root)
    assert data.names == ["patient001_ED", "patient001_ES"]
    case = data["patient001_ED"]
    assert case.info["ED"] == 1 and case.info["phase"] == "ED"
    scr = case.scribbles["bssfp"]
    assert 255 in scr and 0.01 < np.mean(scr != 255) < 0.5


def test_unknown_layout_and_cli(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown layout"):
        write_phantom_dataset("brats", tmp_path, cases=1, seed=0)
    assert set(LAYOUTS) == {"mscmrseg", "myops", "acdc", "mmwhs", "lascarqs"}
    assert cli_main(["phantom", "myops", "--cases", "1", "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "MyoPS2020" / "train25" / "myops_training_101_DE.nii.gz").is_file()
    assert len(MyoPS2020(tmp_path / "cli" / "MyoPS2020")) == 1

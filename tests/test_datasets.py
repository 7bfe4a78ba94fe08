"""Real-data loaders: layouts, label mapping, and a clear DataError for every kind of bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from zmic_lessons.data.datasets import (
    ACDC,
    MMWHS,
    MMWHS2D,
    LAScarQS,
    MSCMRSeg,
    MyoPS2020,
)
from zmic_lessons.data.errors import (
    DataError,
    FileFormatError,
    GeometryError,
    LabelError,
    MissingDataError,
)
from zmic_lessons.data.labels import LV, MYO, RV
from zmic_lessons.data.layouts import write_phantom_dataset
from zmic_lessons.io import read_nifti, write_nifti

SMALL = {"size": 24, "n_slices": 2}


@pytest.fixture
def myops(tmp_path):
    return write_phantom_dataset("myops", tmp_path, cases=1, seed=0, **SMALL)


@pytest.fixture
def acdc(tmp_path):
    return write_phantom_dataset("acdc", tmp_path, cases=1, seed=0, **SMALL)


def _gd(root):
    return root / "train25_myops_gd" / "myops_training_101_gd.nii.gz"


def _de(root):
    return root / "train25" / "myops_training_101_DE.nii.gz"


def test_errors_are_value_errors_for_the_cli():
    for err in (MissingDataError, FileFormatError, GeometryError, LabelError):
        assert issubclass(err, DataError) and issubclass(err, ValueError)
    assert issubclass(MissingDataError, FileNotFoundError)


def test_missing_root(tmp_path):
    with pytest.raises(MissingDataError, match=r"nowhere: expected the folder .*does not exist"):
        MyoPS2020(tmp_path / "nowhere")


def test_empty_folder_says_what_was_expected(tmp_path):
    (tmp_path / "c0t2lge").mkdir()
    with pytest.raises(MissingDataError, match=r"no case found; expected c0t2lge/patient"):
        MSCMRSeg(tmp_path)


def test_partial_case_names_the_missing_sequence(myops):
    (myops / "train25" / "myops_training_101_T2.nii.gz").unlink()
    with pytest.raises(MissingDataError, match=r"myops_training_101_T2\.nii\.gz: expected the T2"):
        MyoPS2020(myops)


def test_missing_label_file(myops):
    _gd(myops).unlink()
    with pytest.raises(MissingDataError, match=r"_gd\.nii\.gz: expected the label map"):
        MyoPS2020(myops)


def test_unknown_label_value(myops):
    gd = read_nifti(_gd(myops))
    arr = gd.array.copy()
    arr[0, 0, 0] = 999
    write_nifti(_gd(myops), arr, affine=gd.affine)
    with pytest.raises(LabelError, match=r"_gd\.nii\.gz: unknown label value\(s\) \[999\].*2221"):
        MyoPS2020(myops)[0]


def test_fractional_label_value(myops):
    gd = read_nifti(_gd(myops))
    arr = gd.array.astype(np.float32)
    arr[0, 1, 1] = 200.5
    write_nifti(_gd(myops), arr, affine=gd.affine)
    with pytest.raises(LabelError, match=r"label values must be integers, found \[200\.5\]"):
        MyoPS2020(myops)[0]


def test_label_shape_mismatch(tmp_path):
    root = write_phantom_dataset("mmwhs", tmp_path, cases=1, seed=0, **SMALL)
    label = root / "ct_train" / "ct_train_1001_label.nii.gz"
    write_nifti(label, np.zeros((2, 20, 24), np.uint16), spacing=(2.0, 1.0, 1.0))
    with pytest.raises(GeometryError, match=r"ct_train_1001_label.*shape \(2, 20, 24\) differs"):
        MMWHS(root, "ct")[0]


def test_label_spacing_mismatch(myops):
    gd = read_nifti(_gd(myops))
    write_nifti(_gd(myops), gd.array, spacing=(10.0, 1.3, 1.25))
    with pytest.raises(GeometryError, match=r"spacing \(10\.0, 1\.3, 1\.25\) mm differs"):
        MyoPS2020(myops)[0]


def test_prealigned_sequences_must_share_the_grid(myops):
    de = read_nifti(_de(myops))
    write_nifti(_de(myops), de.array[:, :20], spacing=de.spacing)
    with pytest.raises(GeometryError, match=r"DE\.nii\.gz: shape .* pre-aligned"):
        MyoPS2020(myops)[0]


def test_4d_where_3d_expected(myops):
    de = read_nifti(_de(myops))
    write_nifti(_de(myops), np.stack([de.array, de.array]), spacing=de.spacing)
    with pytest.raises(FileFormatError, match=r"DE\.nii\.gz: expected a 3D image, got a 4D"):
        MyoPS2020(myops)[0]


def test_nans(myops):
    de = read_nifti(_de(myops))
    arr = de.array.copy()
    arr[0, 3, 3] = np.nan
    write_nifti(_de(myops), arr, affine=de.affine)
    with pytest.raises(FileFormatError, match=r"DE\.nii\.gz: 1 NaN voxel.*DE image"):
        MyoPS2020(myops)[0]


def test_corrupt_gzip(myops):
    raw = _de(myops).read_bytes()
    _de(myops).write_bytes(raw[: len(raw) // 3])
    with pytest.raises(FileFormatError, match=r"myops_training_101_DE\.nii\.gz"):
        MyoPS2020(myops)[0]


def test_acdc_info_cfg_without_es(acdc):
    cfg = acdc / "training" / "patient001" / "Info.cfg"
    cfg.write_text("ED: 1\nGroup: NOR\n")
    with pytest.raises(DataError, match=r"Info\.cfg: expected a line 'ES: <frame number>'"):
        ACDC(acdc)


def test_acdc_missing_info_cfg_and_frame(acdc):
    folder = acdc / "training" / "patient001"
    (folder / "patient001_frame02.nii.gz").unlink()
    with pytest.raises(MissingDataError, match=r"patient001_frame02\.nii\.gz: expected the ES"):
        ACDC(acdc)
    (folder / "Info.cfg").unlink()
    with pytest.raises(MissingDataError, match=r"Info\.cfg: expected the ACDC Info\.cfg"):
        ACDC(acdc)


def test_lascarqs_task1_needs_scar_and_known_values(tmp_path):
    root = write_phantom_dataset("lascarqs", tmp_path, cases=1, seed=0, size=20)
    case_dir = root / "task1" / "train_data" / "train_1"
    atrium = read_nifti(case_dir / "atriumSegImgMO.nii.gz")
    arr = atrium.array.copy()
    arr[0, 0, 0] = 7
    write_nifti(case_dir / "atriumSegImgMO.nii.gz", arr, affine=atrium.affine)
    with pytest.raises(
        LabelError, match=r"atriumSegImgMO\.nii\.gz: unknown label value\(s\) \[7\]"
    ):
        LAScarQS(root, task=1)[0]
    (case_dir / "scarSegImgM.nii.gz").unlink()
    with pytest.raises(MissingDataError, match=r"scarSegImgM\.nii\.gz: expected in every task 1"):
        LAScarQS(root, task=1)
    assert len(LAScarQS(root, task=2)) == 1  # task 2 has no scar files


def test_mmwhs2d_missing_label(tmp_path):
    write_phantom_dataset("mmwhs", tmp_path, cases=1, seed=0, **SMALL)
    root = tmp_path / "CT_MR_2D_Dataset_DA"
    next((root / "MR_withGT" / "Label").glob("lab*")).unlink()
    with pytest.raises(
        MissingDataError, match=r"Label/lab_1001_slice\d\d\.nii\.gz: expected the label"
    ):
        MMWHS2D(root, "mr")
    assert len(MMWHS2D(root, "ct")) == 2


def test_unknown_case_name(myops):
    with pytest.raises(KeyError, match="no case 'myops_training_999'"):
        MyoPS2020(myops)["myops_training_999"]


def _cyclemix_tree(tmp_path):
    """A tiny CycleMix-style MSCMR_dataset (codes 1 RV, 2 myo, 3 LV; scribbles 4 = none)."""
    root = tmp_path / "MSCMR_dataset"
    lab = np.zeros((2, 8, 8), np.int16)
    lab[:, 2:4, 2:4], lab[:, 4:6, 4:6], lab[:, 6:, 6:] = 1, 2, 3
    scr = np.full((2, 8, 8), 4, np.uint8)
    scr[:, 0, :], scr[:, 2, 2], scr[:, 7, 7] = 0, 1, 3
    img = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    sp = (5.0, 0.74, 0.74)
    write_nifti(root / "val/images/subject1_DE.nii.gz", img, spacing=sp)
    write_nifti(root / "val/labels/subject1_DE_manual.nii.gz", lab, spacing=sp)
    write_nifti(root / "train/images/subject2_DE.nii.gz", img, spacing=sp)
    write_nifti(root / "train/labels/subject2_DE_scribble.nii.gz", scr, spacing=sp)
    return tmp_path, lab, scr


def test_cyclemix_layout_maps_codes(tmp_path):
    parent, lab, scr = _cyclemix_tree(tmp_path)
    val = MSCMRSeg(parent, split="val")
    assert val.layout == "cyclemix" and val.names == ["subject1_DE"]
    got = val[0].labels["lge"]
    assert (got[lab == 1] == RV).all() and (got[lab == 2] == MYO).all()
    assert (got[lab == 3] == LV).all()
    train = MSCMRSeg(parent, split="train")[0]
    scribbles = train.scribbles["lge"]
    assert (scribbles[scr == 4] == 255).all() and (scribbles[scr == 3] == LV).all()
    assert "lge" not in train.labels
    (parent / "MSCMR_dataset/train/labels/subject2_DE_scribble.nii.gz").unlink()
    with pytest.raises(MissingDataError, match=r"subject2_DE_manual\.nii\.gz: expected the label"):
        MSCMRSeg(parent, split="train")
    shutil.rmtree(parent / "MSCMR_dataset" / "val")
    with pytest.raises(MissingDataError, match=r"val: expected the folder val/"):
        MSCMRSeg(parent, split="val")


# --------------------------------------------------------------------------- geometry


def _reoriented(img, flip=(), order=None):
    """The same image stored with its voxel axes flipped / permuted and a matching affine.

    ``flip`` and ``order`` refer to nibabel's (i, j, k) axes. The world position of every voxel
    is unchanged, so a correct loader must give back the original arrays.
    """
    vol = img.array.T
    affine = img.affine.copy()
    for a in flip:
        fix = np.eye(4)
        fix[a, a], fix[a, 3] = -1.0, vol.shape[a] - 1
        vol, affine = np.flip(vol, axis=a), affine @ fix
    if order is not None:
        perm = np.zeros((4, 4))
        perm[3, 3] = 1.0
        for new, old in enumerate(order):
            perm[old, new] = 1.0
        vol, affine = vol.transpose(order), affine @ perm
    return np.ascontiguousarray(vol.T), affine


@pytest.mark.parametrize(
    ("flip", "order"), [((0,), None), ((0, 1), None), ((), (1, 0, 2)), ((2,), (2, 0, 1))]
)
def test_label_in_another_orientation_gives_the_same_labels_and_dice(myops, flip, order):
    from zmic_lessons.core.metrics import dice

    original = MyoPS2020(myops)[0]
    gd = read_nifti(_gd(myops))
    arr, affine = _reoriented(gd, flip, order)
    assert arr.shape != gd.shape or not np.array_equal(arr, gd.array)  # really stored otherwise
    write_nifti(_gd(myops), arr, affine=affine)
    case = MyoPS2020(myops)[0]
    np.testing.assert_array_equal(case.labels["lge"], original.labels["lge"])
    prediction = np.roll(original.labels["lge"] == LV, 1, axis=2)
    assert dice(prediction, case.labels["lge"] == LV) == dice(
        prediction, original.labels["lge"] == LV
    )


def test_prealigned_sequence_in_another_orientation_is_reoriented(myops):
    original = MyoPS2020(myops)[0]
    de = read_nifti(_de(myops))
    arr, affine = _reoriented(de, (1,), (0, 2, 1))
    assert arr.shape != de.shape
    write_nifti(_de(myops), arr, affine=affine)
    case = MyoPS2020(myops)[0]
    np.testing.assert_array_equal(case.images["lge"], original.images["lge"])
    np.testing.assert_allclose(case.affine["lge"], case.affine["bssfp"])


def test_shifted_origin_is_refused_with_the_distance(myops):
    de = read_nifti(_de(myops))
    affine = de.affine.copy()
    affine[:3, 3] += [40.0, 0.0, 0.0]
    write_nifti(_de(myops), de.array, affine=affine)
    with pytest.raises(GeometryError, match=r"DE\.nii\.gz: voxel \(0, 0, 0\) is 40\.00 mm away"):
        MyoPS2020(myops)[0]


def test_label_half_a_voxel_off_is_refused(myops):
    gd = read_nifti(_gd(myops))
    affine = gd.affine.copy()
    affine[:3, 3] += 0.5 * np.abs(np.diag(affine)[:3])
    write_nifti(_gd(myops), gd.array, affine=affine)
    with pytest.raises(GeometryError, match=r"_gd\.nii\.gz: voxel .* mm away.*same voxels"):
        MyoPS2020(myops)[0]


def test_label_on_a_rotated_grid_is_refused(myops):
    gd = read_nifti(_gd(myops))
    theta = np.deg2rad(10)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    write_nifti(_gd(myops), gd.array, affine=rot @ gd.affine)
    with pytest.raises(GeometryError, match="rotated"):
        MyoPS2020(myops)[0]


def test_cases_carry_their_affine_and_resample_by_world_position(tmp_path):
    from zmic_lessons.data.datasets import resample_to

    root = write_phantom_dataset("mscmrseg", tmp_path, cases=1, seed=0, size=24, n_slices=3)
    case = MSCMRSeg(root)[0]
    for key in ("bssfp", "t2", "lge"):
        assert case.affine[key].shape == (4, 4)
    # onto its own grid: unchanged
    same = case.resampled("lge", "lge", labels=True)
    np.testing.assert_array_equal(same, case.labels["lge"])
    # onto a flipped and shifted (by whole voxels) copy of the grid: the flipped, shifted array
    img = case.images["bssfp"]
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1.0, img.shape[2] - 1
    shift = np.eye(4)
    shift[1, 3] = 2.0
    target = case.affine["bssfp"] @ flip @ shift
    moved = resample_to(img, case.affine["bssfp"], img.shape, target, order=1)
    np.testing.assert_allclose(moved[:, :-2, :], img[:, 2:, ::-1], atol=1e-5)
    assert (moved[:, -2:, :] == 0).all()


def test_a_label_without_its_images_is_named(myops):
    for tag in ("C0", "DE", "T2"):
        (myops / "train25" / f"myops_training_101_{tag}.nii.gz").unlink()
    with pytest.raises(MissingDataError, match=r"myops_training_101_C0\.nii\.gz: expected the"):
        MyoPS2020(myops)

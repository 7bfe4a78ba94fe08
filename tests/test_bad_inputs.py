"""Files from another scanner, converter or lab, run through every layout's loader path.

Each layout is written once as a small phantom in its real file tree; each test copies it, damages
or re-encodes one file of the first case (its image or its label map) the way real files come,
and loads the case with the layout's loader. Two outcomes are allowed:

* **benign** re-encodings (another orientation with a correct affine, a transposed export, a
  float or int32 label file, a trailing singleton axis, metre units with a metre affine) load to
  the same labels as the original, on the image's grid;
* everything else raises the right :class:`DataError` subclass with the file's name in the
  message, never a traceback from deep inside NumPy or nibabel and never a silent wrong answer.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from zmic_lessons.data.datasets import ACDC, MMWHS, MMWHS2D, LAScarQS, MSCMRSeg, MyoPS2020
from zmic_lessons.data.errors import (
    DataError,
    FileFormatError,
    GeometryError,
    LabelError,
    MissingDataError,
)
from zmic_lessons.data.layouts import write_phantom_dataset
from zmic_lessons.io import NiftiImage, read_nifti, write_nifti


@dataclass(frozen=True)
class Layout:
    """Where the first case's files are in a layout, and how its loader reads them."""

    name: str
    layout: str
    image: str  # relative to the phantom's output folder
    label: str
    key: str
    load: Callable[[Path], object]  # output folder -> first case
    ndim: int = 3
    ct: bool = False


LAYOUTS = [
    Layout(
        "mscmrseg", "mscmrseg",
        "C0LET2_nii45_for_challenge19/c0t2lge/patient1_LGE.nii.gz",
        "C0LET2_nii45_for_challenge19/lgegt/patient1_LGE_manual.nii.gz",
        "lge", lambda out: MSCMRSeg(out / "C0LET2_nii45_for_challenge19")[0],
    ),
    Layout(
        "myops", "myops",
        "MyoPS2020/train25/myops_training_101_DE.nii.gz",
        "MyoPS2020/train25_myops_gd/myops_training_101_gd.nii.gz",
        "lge", lambda out: MyoPS2020(out / "MyoPS2020")[0],
    ),
    Layout(
        "acdc", "acdc",
        "ACDC/training/patient001/patient001_frame01.nii.gz",
        "ACDC/training/patient001/patient001_frame01_gt.nii.gz",
        "bssfp", lambda out: ACDC(out / "ACDC")[0],
    ),
    Layout(
        "mmwhs_ct", "mmwhs",
        "MM-WHS/ct_train/ct_train_1001_image.nii.gz",
        "MM-WHS/ct_train/ct_train_1001_label.nii.gz",
        "ct", lambda out: MMWHS(out / "MM-WHS", "ct")[0], ct=True,
    ),
    Layout(
        "mmwhs_mr", "mmwhs",
        "MM-WHS/mr_train/mr_train_1001_image.nii.gz",
        "MM-WHS/mr_train/mr_train_1001_label.nii.gz",
        "mr", lambda out: MMWHS(out / "MM-WHS", "mr")[0],
    ),
    Layout(
        "mmwhs2d", "mmwhs",
        "CT_MR_2D_Dataset_DA/MR_withGT/Images/img_1001_slice00.nii.gz",
        "CT_MR_2D_Dataset_DA/MR_withGT/Label/lab_1001_slice00.nii.gz",
        "mr", lambda out: MMWHS2D(out / "CT_MR_2D_Dataset_DA", "mr")[0], ndim=2,
    ),
    Layout(
        "lascarqs", "lascarqs",
        "LAScarQS2022/task1/train_data/train_1/enhanced.nii.gz",
        "LAScarQS2022/task1/train_data/train_1/atriumSegImgMO.nii.gz",
        "lge", lambda out: LAScarQS(out / "LAScarQS2022", task=1)[0],
    ),
]  # fmt: skip
BY_NAME = {lay.name: lay for lay in LAYOUTS}


# --------------------------------------------------------------------------- re-encodings


def _reoriented(img: NiftiImage, flip=(), order=None) -> tuple[np.ndarray, np.ndarray]:
    """Same voxels at the same world positions, stored with flipped / permuted (i, j, k) axes."""
    vol = img.array.T if img.ndim == 3 else img.array.T[..., None]
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
    vol = vol[..., 0] if img.ndim == 2 else vol
    return np.ascontiguousarray(vol.T), affine


def _raw(path: Path, img: NiftiImage, data=None, affine=None, **header) -> None:
    """Write with nibabel directly and raw header fields, as another converter would."""
    data = img.array.T if data is None else data
    nimg = nib.Nifti1Image(data, img.affine if affine is None else affine)
    for key, value in header.items():
        if key == "units":
            nimg.header.set_xyzt_units(*value)
        elif key == "qform":
            nimg.header.set_qform(value, code=1)
        elif key == "pixdim":
            pixdim = nimg.header["pixdim"].copy()
            for index, v in value.items():
                pixdim[index] = v
            nimg.header["pixdim"] = pixdim
        else:
            nimg.header[key] = value
    path.write_bytes(gzip.compress(nimg.to_bytes(), compresslevel=1))


def _write(path: Path, array: np.ndarray, affine: np.ndarray) -> None:
    write_nifti(path, array, affine=affine)


def _unoriented(path: Path, img: NiftiImage) -> None:
    """ANALYZE-style: neither sform nor qform set, only pixdim (older converters, some labs)."""
    raw = bytearray(nib.Nifti1Image(img.array.T, img.affine).to_bytes())
    raw[252:256] = np.array([0, 0], "<i2").tobytes()  # qform_code, sform_code
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=1))
    assert not read_nifti(path, expect_ndim=img.ndim).oriented


def _nan_sform(path: Path, img: NiftiImage) -> None:
    """A NaN in the sform (srow_x[0], bytes 280-283 of a NIfTI-1 header), qform unset."""
    nimg = nib.Nifti1Image(img.array.T, img.affine)
    nimg.header.set_qform(None, code=0)
    raw = bytearray(nimg.to_bytes())
    raw[280:284] = np.array([np.nan], "<f4").tobytes()
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=1))


def _flipped_bit(path: Path, img: NiftiImage) -> None:
    """Stored (uncompressed) gzip blocks, one payload bit flipped: only the CRC can tell."""
    raw = nib.Nifti1Image(img.array.T, img.affine).to_bytes()
    data = bytearray(gzip.compress(raw, compresslevel=0, mtime=0))
    data[len(data) - 8 - 3] ^= 0x10
    path.write_bytes(bytes(data))


def _affine_shift(img: NiftiImage, mm=None, voxels=None) -> np.ndarray:
    affine = img.affine.copy()
    if mm is not None:
        affine[:3, 3] += mm
    if voxels is not None:
        affine[:3, 3] += affine[:3, :3] @ np.asarray(voxels, float)
    return affine


def _scaled(img: NiftiImage, factor: float) -> np.ndarray:
    affine = img.affine.copy()
    affine[:3, :3] = affine[:3, :3] @ np.diag([factor, 1.0, 1.0])
    return affine


def _crop(img: NiftiImage) -> np.ndarray:
    return img.array[..., :-3]


def _with_value(img: NiftiImage, value, dtype=None) -> np.ndarray:
    arr = img.array.astype(dtype or img.array.dtype).copy()
    arr.flat[0] = value
    return arr


WRITE = {
    # benign: another orientation, transposition, dtype or units with a matching affine
    "flip_i": lambda p, img: _write(p, *_reoriented(img, (0,))),
    "flip_ij": lambda p, img: _write(p, *_reoriented(img, (0, 1))),
    "transpose_ij": lambda p, img: _write(p, *_reoriented(img, (), (1, 0, 2))),
    "flip_k_permute": lambda p, img: _write(p, *_reoriented(img, (2,), (2, 0, 1))),
    "float32_file": lambda p, img: write_nifti(p, img.array, affine=img.affine, dtype=np.float32),
    "int32_file": lambda p, img: write_nifti(p, img.array, affine=img.affine, dtype=np.int32),
    "trailing_singleton": lambda p, img: _raw(p, img, img.array.T[..., None]),
    "metres_consistent": lambda p, img: _raw(
        p, img, affine=np.diag([1e-3, 1e-3, 1e-3, 1.0]) @ img.affine, units=("meter", "sec")
    ),
    "both_forms_agree": lambda p, img: _raw(p, img, qform=img.affine),
    "no_orientation": lambda p, img: _unoriented(p, img),
    # geometry that does not match
    "origin_40mm": lambda p, img: write_nifti(
        p, img.array, affine=_affine_shift(img, mm=[40.0, 0, 0])
    ),
    "half_voxel": lambda p, img: write_nifti(
        p, img.array, affine=_affine_shift(img, voxels=[0.5, 0, 0])
    ),
    "other_spacing": lambda p, img: write_nifti(p, img.array, affine=_scaled(img, 1.3)),
    "cropped": lambda p, img: write_nifti(p, _crop(img), affine=img.affine),
    "rotated_10deg": lambda p, img: write_nifti(p, img.array, affine=_rotation(10.0) @ img.affine),
    # rank
    "stack_of_two": lambda p, img: write_nifti(
        p, np.stack([img.array, img.array]), affine=img.affine
    ),
    # header inconsistencies
    "zero_pixdim": lambda p, img: _raw(p, img, pixdim={1: 0.0}),
    "nan_pixdim": lambda p, img: _raw(p, img, pixdim={2: np.nan}),
    "pixdim_vs_sform": lambda p, img: _raw(p, img, pixdim={1: 2.5 * abs(img.affine[0, 0])}),
    "metre_units_mm_values": lambda p, img: _raw(p, img, units=("meter", "sec")),
    "sform_vs_qform": lambda p, img: _raw(p, img, qform=_affine_shift(img, mm=[30.0, 0, 0])),
    "nan_affine": lambda p, img: _nan_sform(p, img),
    # damaged files
    "truncated_gz": lambda p, img: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "flipped_bit": _flipped_bit,
    "zero_bytes": lambda p, img: p.write_bytes(b""),
    "not_nifti": lambda p, img: p.write_bytes(gzip.compress(b"DICM not a NIfTI file" * 40)),
    "png_renamed": lambda p, img: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(600)),
    "missing": lambda p, img: p.unlink(),
    # content
    "nan_voxel": lambda p, img: write_nifti(
        p, _with_value(img, np.nan, np.float32), affine=img.affine
    ),
    "inf_voxel": lambda p, img: write_nifti(
        p, _with_value(img, np.inf, np.float32), affine=img.affine
    ),
    "minus_inf_voxel": lambda p, img: write_nifti(
        p, _with_value(img, -np.inf, np.float32), affine=img.affine
    ),
    "constant": lambda p, img: write_nifti(
        p, np.full(img.shape, 7.0, np.float32), affine=img.affine
    ),
    "all_zero": lambda p, img: write_nifti(p, np.zeros(img.shape, np.float32), affine=img.affine),
    "all_negative": lambda p, img: write_nifti(
        p, -1.0 - np.abs(img.array.astype(np.float32)), affine=img.affine
    ),
    "no_voxels": lambda p, img: _raw(p, img, np.zeros((0, 4, 4), np.float32)),
    "rgb": lambda p, img: _raw(
        p, img, np.zeros(img.array.T.shape, [("R", "u1"), ("G", "u1"), ("B", "u1")])
    ),
    "complex": lambda p, img: _raw(p, img, img.array.T.astype(np.complex64)),
    # label values
    "unknown_code": lambda p, img: write_nifti(
        p, _with_value(img, 999, np.int32), affine=img.affine
    ),
    "fractional_code": lambda p, img: write_nifti(
        p, _with_value(img, 0.5, np.float32), affine=img.affine
    ),
    "negative_code": lambda p, img: write_nifti(
        p, _with_value(img, -1, np.int16), affine=img.affine
    ),
    "empty_label": lambda p, img: write_nifti(p, np.zeros(img.shape, np.uint8), affine=img.affine),
}

BENIGN = {
    "flip_i",
    "flip_ij",
    "transpose_ij",
    "flip_k_permute",
    "float32_file",
    "int32_file",
    "trailing_singleton",
    "metres_consistent",
    "both_forms_agree",
    "no_orientation",
}
HEADER_OR_FILE = {
    "stack_of_two": FileFormatError,
    "zero_pixdim": FileFormatError,
    "nan_pixdim": FileFormatError,
    "pixdim_vs_sform": FileFormatError,
    "metre_units_mm_values": FileFormatError,
    "sform_vs_qform": FileFormatError,
    "nan_affine": FileFormatError,
    "truncated_gz": FileFormatError,
    "flipped_bit": FileFormatError,
    "zero_bytes": FileFormatError,
    "not_nifti": FileFormatError,
    "png_renamed": FileFormatError,
    "missing": MissingDataError,
    "no_voxels": FileFormatError,
    "rgb": FileFormatError,
    "complex": FileFormatError,
}
GEOMETRY = {"origin_40mm", "half_voxel", "other_spacing", "cropped", "rotated_10deg"}
IMAGE_CONTENT = {
    "nan_voxel": FileFormatError,
    "inf_voxel": FileFormatError,
    "minus_inf_voxel": FileFormatError,
    "constant": FileFormatError,
    "all_zero": FileFormatError,
    "all_negative": FileFormatError,
}
LABEL_CONTENT = {
    "unknown_code": LabelError,
    "fractional_code": LabelError,
    "negative_code": LabelError,
    "nan_voxel": FileFormatError,
    "inf_voxel": FileFormatError,
    "empty_label": LabelError,
}


def _rotation(degrees: float) -> np.ndarray:
    theta = np.deg2rad(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    return rot


OPTIONAL_LABELS = {"mscmrseg", "acdc"}  # a label is loaded where its file exists


def _expected(layout: Layout, role: str, variant: str):
    """``None`` for a benign variant, else the error class; ``"skip"`` where meaningless."""
    if variant in BENIGN:
        if variant == "flip_k_permute" and layout.ndim == 2:
            return "skip"  # a 2D file has no third axis to move
        return None
    if variant == "missing" and role == "label" and layout.name in OPTIONAL_LABELS:
        return None  # the case loads without that label
    if variant in HEADER_OR_FILE:
        return HEADER_OR_FILE[variant]
    if variant in GEOMETRY:
        if role == "image" and layout.name != "myops":
            return GeometryError  # the label no longer matches the image
        return GeometryError
    table = IMAGE_CONTENT if role == "image" else LABEL_CONTENT
    if variant not in table:
        return "skip"
    if role == "image" and variant == "all_negative" and layout.ct:
        return None  # CT in HU may be negative everywhere in a crop
    if role == "label" and variant == "empty_label" and layout.ndim == 2:
        return None  # a 2D slice may hold no structure
    return table[variant]


CASES = [
    (lay.name, role, variant)
    for lay in LAYOUTS
    for role in ("image", "label")
    for variant in WRITE
    if _expected(lay, role, variant) != "skip"
]


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    """One small phantom tree per layout (written once; tests copy it)."""
    base = tmp_path_factory.mktemp("phantoms")
    trees = {}
    for layout in sorted({lay.layout for lay in LAYOUTS}):
        size = {"size": 20} if layout == "lascarqs" else {"size": 24, "n_slices": 3}
        write_phantom_dataset(layout, base / layout, cases=1, seed=0, **size)
        trees[layout] = base / layout
    return trees


def _copy(phantoms, layout: Layout, tmp_path: Path) -> Path:
    out = tmp_path / layout.layout
    shutil.copytree(phantoms[layout.layout], out)
    return out


def test_the_suite_is_large_and_covers_every_layout():
    assert len(CASES) >= 150
    assert {name for name, _, _ in CASES} == set(BY_NAME)


@pytest.mark.parametrize(("name", "role", "variant"), CASES)
def test_bad_or_unusual_file(phantoms, tmp_path, name, role, variant):
    layout = BY_NAME[name]
    out = _copy(phantoms, layout, tmp_path)
    original = layout.load(out)
    path = out / (layout.image if role == "image" else layout.label)
    img = read_nifti(path, expect_ndim=layout.ndim)
    WRITE[variant](path, img)
    expected = _expected(layout, role, variant)
    if expected is None:
        case = layout.load(out)
        if variant in ("missing", "empty_label", "all_negative"):
            _check_degenerate_but_valid(case, layout.key, variant)
        elif role == "label" or variant in ("float32_file", "int32_file", "trailing_singleton"):
            np.testing.assert_array_equal(case.labels[layout.key], original.labels[layout.key])
        else:  # the image was re-stored: the label follows it onto the new grid
            _same_pairing(case, original, layout.key)
        return
    with pytest.raises(expected, match=re.escape(path.name)) as info:
        layout.load(out)
    assert isinstance(info.value, DataError)


def _check_degenerate_but_valid(case, key: str, variant: str) -> None:
    if variant == "missing":
        assert key not in case.labels
    elif variant == "empty_label":
        assert not case.labels[key].any()
    else:
        assert case.images[key].max() < 0


def _same_pairing(case, original, key: str) -> None:
    """Image and label still correspond voxel for voxel (same intensities per class)."""
    for cls in np.unique(original.labels[key]):
        want = original.images[key][original.labels[key] == cls]
        got = case.images[key][case.labels[key] == cls]
        assert got.size == want.size
        np.testing.assert_allclose(np.sort(got), np.sort(want), rtol=1e-6)

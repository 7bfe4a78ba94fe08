"""NIfTI io: axis convention, round trips with spacing and affine, clear errors."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from zmic_lessons.io import (
    NiftiError,
    affine_from_spacing,
    read_nifti,
    spacing_from_affine,
    write_nifti,
)


def _rotated_affine() -> np.ndarray:
    """A non-trivial affine: anisotropic voxels, an oblique rotation and a translation."""
    theta = np.deg2rad(25.0)
    rot = np.array(
        [[np.cos(theta), -np.sin(theta), 0.0], [np.sin(theta), np.cos(theta), 0.0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([0.7, 0.9, 5.0])
    affine[:3, 3] = [-12.5, 40.0, 7.25]
    return affine


def test_axes_are_reversed_with_respect_to_nibabel(tmp_path):
    xyz = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    nib.save(nib.Nifti1Image(xyz, np.diag([0.5, 0.75, 3.0, 1.0])), tmp_path / "a.nii.gz")
    img = read_nifti(tmp_path / "a.nii.gz")
    assert img.shape == (4, 3, 2)
    assert img.array[3, 2, 1] == xyz[1, 2, 3]
    assert img.spacing == pytest.approx((3.0, 0.75, 0.5))


def test_round_trip_anisotropic_spacing(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.normal(size=(5, 7, 9)).astype(np.float32)
    path = write_nifti(tmp_path / "b.nii.gz", arr, spacing=(8.0, 1.25, 1.5))
    img = read_nifti(path)
    np.testing.assert_array_equal(img.array, arr)
    assert img.array.dtype == np.float32
    assert img.spacing == pytest.approx((8.0, 1.25, 1.5))


def test_round_trip_keeps_a_nontrivial_affine(tmp_path):
    affine = _rotated_affine()
    labels = np.random.default_rng(1).integers(0, 4, size=(3, 6, 5)).astype(np.uint8)
    write_nifti(tmp_path / "c.nii", labels, affine=affine)
    img = read_nifti(tmp_path / "c.nii")
    np.testing.assert_allclose(img.affine, affine, atol=1e-5)
    assert img.spacing == pytest.approx((5.0, 0.9, 0.7), abs=1e-5)
    np.testing.assert_array_equal(img.array, labels)
    # writing back with the kept affine reproduces geometry and data
    write_nifti(tmp_path / "d.nii.gz", img.array, affine=img.affine)
    again = read_nifti(tmp_path / "d.nii.gz")
    np.testing.assert_allclose(again.affine, affine, atol=1e-5)
    np.testing.assert_array_equal(again.array, labels)


def test_2d_and_4d_conventions(tmp_path):
    slice2d = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_nifti(tmp_path / "s.nii.gz", slice2d, spacing=(0.8, 0.6))
    img = read_nifti(tmp_path / "s.nii.gz", expect_ndim=2)
    np.testing.assert_array_equal(img.array, slice2d)
    assert img.spacing == pytest.approx((0.8, 0.6))
    vol4 = np.zeros((2, 3, 4, 5), dtype=np.int16)
    write_nifti(tmp_path / "t.nii.gz", vol4, spacing=(2.0, 1.0, 1.0))
    assert read_nifti(tmp_path / "t.nii.gz").shape == (2, 3, 4, 5)


def test_singleton_trailing_axis_is_squeezed(tmp_path):
    xyz1 = np.ones((4, 5, 3, 1), dtype=np.float32)
    nib.save(nib.Nifti1Image(xyz1, np.eye(4)), tmp_path / "e.nii.gz")
    assert read_nifti(tmp_path / "e.nii.gz", expect_ndim=3).shape == (3, 5, 4)
    xy1 = np.ones((4, 5, 1), dtype=np.float32)
    nib.save(nib.Nifti1Image(xy1, np.eye(4)), tmp_path / "f.nii.gz")
    assert read_nifti(tmp_path / "f.nii.gz", expect_ndim=2).shape == (5, 4)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nii.gz"):
        read_nifti(tmp_path / "nope.nii.gz")


def test_corrupt_gzip_names_the_file(tmp_path):
    path = write_nifti(tmp_path / "g.nii.gz", np.ones((4, 4, 4), np.float32))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(NiftiError, match=r"g\.nii\.gz.*(corrupt|truncated|readable)"):
        read_nifti(path)


def test_not_a_nifti(tmp_path):
    path = tmp_path / "h.nii.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"this is not an image" * 30)
    with pytest.raises(NiftiError, match=r"h\.nii\.gz"):
        read_nifti(path)


def test_4d_where_3d_expected(tmp_path):
    write_nifti(tmp_path / "i.nii.gz", np.zeros((3, 2, 4, 4), np.float32))
    with pytest.raises(NiftiError, match=r"i\.nii\.gz: expected a 3D image, got a 4D"):
        read_nifti(tmp_path / "i.nii.gz", expect_ndim=3)


def test_nans_are_refused_by_default_and_counted(tmp_path):
    arr = np.zeros((2, 3, 4), np.float32)
    arr[0, 1, 2] = np.nan
    arr[1, 2, 3] = np.nan
    write_nifti(tmp_path / "j.nii.gz", arr)
    with pytest.raises(NiftiError, match=r"j\.nii\.gz: 2 NaN voxel"):
        read_nifti(tmp_path / "j.nii.gz")
    assert np.isnan(read_nifti(tmp_path / "j.nii.gz", allow_nan=True).array).sum() == 2


def test_spacing_and_affine_must_agree(tmp_path):
    with pytest.raises(ValueError, match="disagrees"):
        write_nifti(
            tmp_path / "k.nii.gz", np.zeros((2, 2, 2)), spacing=(1, 1, 1), affine=_rotated_affine()
        )
    assert spacing_from_affine(affine_from_spacing((3.0, 2.0, 1.0))) == (3.0, 2.0, 1.0)


def test_write_is_atomic_on_interruption(tmp_path, monkeypatch):
    path = write_nifti(tmp_path / "m.nii.gz", np.ones((2, 3, 4), np.float32))
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_nifti(path, np.zeros((2, 3, 4), np.float32))
    assert path.read_bytes() == before  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["m.nii.gz"]  # no orphan .tmp


def test_written_files_are_deterministic_and_say_mm(tmp_path):
    arr = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    a = write_nifti(tmp_path / "a.nii.gz", arr, spacing=(3.0, 1.0, 0.5)).read_bytes()
    b = write_nifti(tmp_path / "b.nii.gz", arr, spacing=(3.0, 1.0, 0.5)).read_bytes()
    assert a == b
    assert nib.load(tmp_path / "a.nii.gz").header.get_xyzt_units() == ("mm", "sec")


# --------------------------------------------------------------------------- header and content


def _save(path, data, affine=None, **header):
    """Save with nibabel directly, setting raw header fields (what another converter writes)."""
    img = nib.Nifti1Image(data, np.eye(4) if affine is None else affine)
    for key, value in header.items():
        if key == "units":
            img.header.set_xyzt_units(*value)
        elif key == "qform":
            img.header.set_qform(value, code=1)
        else:
            img.header[key] = value
    nib.save(img, path)
    return path


def _stored_gzip(path, raw_nifti: bytes) -> None:
    """A gzip file with an uncompressed (stored) deflate block: a flipped payload bit decodes."""
    path.write_bytes(gzip.compress(raw_nifti, compresslevel=0, mtime=0))


def test_flipped_bit_in_a_gzip_is_caught_by_the_crc(tmp_path):
    labels = np.zeros((8, 8, 4), np.uint8)
    labels[2:6, 2:6, 1:3] = 1
    raw = nib.Nifti1Image(labels, np.eye(4)).to_bytes()
    path = tmp_path / "lab.nii.gz"
    _stored_gzip(path, raw)
    assert read_nifti(path).array.sum() == labels.sum()
    data = bytearray(path.read_bytes())
    data[len(data) - 8 - 20] ^= 0x01  # a voxel near the end of the payload
    path.write_bytes(bytes(data))
    # the stream itself still decodes (nibabel's reader does not check the CRC) ...
    assert gzip.GzipFile(fileobj=__import__("io").BytesIO(bytes(data))).read(len(raw))
    # ... but the checksum does not match: refused, naming the file
    with pytest.raises(NiftiError, match=r"lab\.nii\.gz: the gzip stream is corrupt"):
        read_nifti(path)


def test_corrupt_crc_field_and_truncation_are_refused(tmp_path):
    path = write_nifti(tmp_path / "c.nii.gz", np.ones((4, 4, 4), np.float32))
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # the CRC-32 field
    path.write_bytes(bytes(data))
    with pytest.raises(NiftiError, match=r"c\.nii\.gz: the gzip stream is corrupt"):
        read_nifti(path)
    path.write_bytes(bytes(data[:-8]))  # no trailer
    with pytest.raises(NiftiError, match=r"c\.nii\.gz: the gzip stream is corrupt or truncated"):
        read_nifti(path)


def test_zero_or_nan_pixdim_is_refused_naming_the_sform(tmp_path):
    affine = np.diag([1.25, 1.25, 10.0, 1.0])
    data = np.ones((4, 4, 3), np.float32)
    path = _save(tmp_path / "z.nii.gz", data, affine, pixdim=[1, 1.25, 1.25, 0, 1, 1, 1, 1])
    with pytest.raises(NiftiError, match=r"z\.nii\.gz: pixdim .*zero or NaN.*sform says \(10\.0"):
        read_nifti(path)
    path = _save(tmp_path / "n.nii.gz", data, affine, pixdim=[1, 1.25, np.nan, 10, 1, 1, 1, 1])
    with pytest.raises(NiftiError, match=r"n\.nii\.gz: pixdim"):
        read_nifti(path)


def test_pixdim_disagreeing_with_the_sform_is_refused(tmp_path):
    affine = np.diag([1.25, 1.25, 10.0, 1.0])
    path = _save(
        tmp_path / "d.nii.gz",
        np.ones((4, 4, 3), np.float32),
        affine,
        pixdim=[1, 1.25, 1.25, 8.0, 1, 1, 1, 1],
    )
    with pytest.raises(NiftiError, match=r"pixdim says .*\(8\.0, 1\.25, 1\.25\).*sform says"):
        read_nifti(path)


def test_units_are_converted_to_mm_or_refused(tmp_path):
    data = np.ones((4, 4, 3), np.float32)
    metres = np.diag([0.00125, 0.00125, 0.01, 1.0])
    path = _save(tmp_path / "m.nii.gz", data, metres, units=("meter", "sec"))
    img = read_nifti(path)
    assert img.spacing == pytest.approx((10.0, 1.25, 1.25))
    np.testing.assert_allclose(img.affine[:3, :3], np.diag([1.25, 1.25, 10.0]), atol=1e-6)
    wrong = _save(tmp_path / "w.nii.gz", data, np.diag([1.25, 1.25, 10, 1]), units=("meter", "sec"))
    with pytest.raises(NiftiError, match=r"w\.nii\.gz: voxel size .*'meter'.*units"):
        read_nifti(wrong)


def test_sform_and_qform_that_disagree_are_refused(tmp_path):
    qform = np.diag([1.25, 1.25, 10.0, 1.0])
    qform[:3, 3] = [30.0, 0, 0]
    path = _save(
        tmp_path / "q.nii.gz", np.ones((4, 4, 3), np.float32), np.diag([1.25, 1.25, 10, 1]),
        qform=qform,
    )  # fmt: skip
    with pytest.raises(NiftiError, match=r"q\.nii\.gz: sform and qform describe different"):
        read_nifti(path)


def test_infinite_values_rgb_complex_and_empty_images_are_refused(tmp_path):
    arr = np.ones((2, 3, 4), np.float32)
    arr[0, 0, 0], arr[1, 1, 1] = np.inf, -np.inf
    write_nifti(tmp_path / "inf.nii.gz", arr)
    with pytest.raises(NiftiError, match=r"inf\.nii\.gz: 2 infinite voxel"):
        read_nifti(tmp_path / "inf.nii.gz")
    rgb = np.zeros((4, 4, 2), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    _save(tmp_path / "rgb.nii.gz", rgb)
    with pytest.raises(NiftiError, match=r"rgb\.nii\.gz: voxels are .*RGB"):
        read_nifti(tmp_path / "rgb.nii.gz")
    _save(tmp_path / "cx.nii.gz", np.ones((4, 4, 2), np.complex64))
    with pytest.raises(NiftiError, match=r"cx\.nii\.gz: voxels are complex"):
        read_nifti(tmp_path / "cx.nii.gz")
    _save(tmp_path / "e.nii.gz", np.ones((4, 0, 2), np.float32))
    with pytest.raises(NiftiError, match=r"e\.nii\.gz: the image has no voxels"):
        read_nifti(tmp_path / "e.nii.gz")


def test_truncated_uncompressed_nii_and_unoriented_files(tmp_path):
    path = write_nifti(tmp_path / "t.nii", np.ones((4, 4, 4), np.float32))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(NiftiError, match=r"t\.nii: voxel data cannot be read"):
        read_nifti(path)
    plain = nib.Nifti1Image(np.ones((4, 4, 2), np.float32), np.diag([2.0, 2.0, 5.0, 1.0]))
    raw = bytearray(plain.to_bytes())
    raw[252:256] = np.array([0, 0], "<i2").tobytes()  # qform_code, sform_code: unset
    (tmp_path / "u.nii.gz").write_bytes(gzip.compress(bytes(raw)))
    img = read_nifti(tmp_path / "u.nii.gz")
    assert not img.oriented and img.spacing == pytest.approx((5.0, 2.0, 2.0))
    assert read_nifti(write_nifti(tmp_path / "o.nii.gz", img.array, spacing=(1, 1, 1))).oriented

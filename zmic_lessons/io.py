"""NIfTI read/write with one axis convention for the whole package.

**Axis convention.** Every array in ``zmic_lessons`` is indexed ``(z, y, x)`` — slice, row, column —
and every spacing is given in the same order, in millimetres. NIfTI (and nibabel) store voxels as
``(i, j, k)`` = ``(x, y, z)``, so :func:`read_nifti` reverses the axes and :func:`write_nifti`
reverses them back. A 2D file ``(x, y)`` becomes ``(y, x)``; a 4D file ``(x, y, z, t)`` becomes
``(t, z, y, x)``. The 4×4 ``affine`` maps nibabel's ``(i, j, k)`` voxel indices to world
millimetres (the file's sform, else its qform, scaled to mm if the header says metres or
microns), so writing an image back with its affine reproduces the file's geometry.

**What is checked on read** (each failure names the file):

* the gzip stream is read whole and its CRC-32 and length are verified (a flipped bit or a
  truncated ``.nii.gz`` is refused, not decoded into wrong voxels);
* the geometry: a finite, non-singular affine; ``pixdim`` non-zero, finite and equal to the
  affine's voxel size (the two disagreeing means the converter wrote an inconsistent header);
  sform and qform, when both are set, describing the same grid; spatial units known, converted
  to mm, and a voxel size between 0.01 and 100 mm;
* the content: a scalar voxel type (RGB or complex images are refused), at least one voxel, and
  no NaN or infinite value (``allow_nan=True`` lets them through).

**Writes are atomic**: the file is written under a temporary name in the same folder and renamed
over the target (``os.replace``), so an interrupted write leaves the old file (or none), never a
truncated one, and no temporary file is left behind.

Errors: a missing file raises ``FileNotFoundError``; anything else raises :class:`NiftiError`
(a ``ValueError``) naming the file.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = [
    "NiftiError",
    "NiftiImage",
    "affine_from_spacing",
    "atomic_write_bytes",
    "read_nifti",
    "spacing_from_affine",
    "write_nifti",
]

_SPACING_TOL_MM = 1e-4
_PIXDIM_RTOL = 1e-3
#: plausible voxel sizes in mm (outside: wrong units, or a broken header)
_VOXEL_MM_RANGE = (0.01, 100.0)
_UNIT_TO_MM = {"unknown": 1.0, "mm": 1.0, "meter": 1000.0, "micron": 1e-3}
_GZIP_MAGIC = b"\x1f\x8b"


class NiftiError(ValueError):
    """A file is not a readable NIfTI image of the expected rank, geometry or content."""


@dataclass
class NiftiImage:
    """A NIfTI image in the package's ``(z, y, x)`` convention.

    Attributes:
        array: Voxel values, shape ``(z, y, x)`` (3D), ``(y, x)`` (2D) or ``(t, z, y, x)`` (4D),
            in the file's own dtype (scaled to float if the header has a scale slope).
        spacing: Voxel size in mm of the spatial axes, in array order (``(z, y, x)`` for 3D).
        affine: 4×4 voxel-to-world matrix in mm, in nibabel's ``(i, j, k)`` order.
        path: The file it was read from, if any.
        oriented: False when the file sets neither an sform nor a qform (ANALYZE-style): its
            affine then only scales by the voxel size and says nothing about where the voxels
            are, so a loader may pair it voxel by voxel with an oriented file of the same shape
            and spacing.
    """

    array: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray
    path: Path | None = None
    oriented: bool = True

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :attr:`array`."""
        return tuple(self.array.shape)

    @property
    def ndim(self) -> int:
        """Number of axes of :attr:`array`."""
        return self.array.ndim


def affine_from_spacing(
    spacing: tuple[float, ...], origin: tuple[float, float, float] | None = None
) -> np.ndarray:
    """A diagonal voxel-to-world affine for a spacing given in array order.

    Args:
        spacing: Voxel size in mm, ``(z, y, x)`` (or ``(y, x)`` for 2D; then z spacing is 1 mm).
        origin: World position (x, y, z) in mm of voxel (0, 0, 0); defaults to the origin.

    Returns:
        A ``(4, 4)`` float64 matrix in nibabel's ``(i, j, k)`` = ``(x, y, z)`` order.
    """
    sp = [float(s) for s in spacing]
    if len(sp) == 2:
        sp = [1.0, *sp]
    if len(sp) != 3 or not all(np.isfinite(v) and v > 0 for v in sp):
        raise ValueError(f"spacing must be 2 or 3 positive numbers in mm, got {spacing}")
    affine = np.diag([sp[2], sp[1], sp[0], 1.0])
    if origin is not None:
        affine[:3, 3] = origin
    return affine


def spacing_from_affine(affine: np.ndarray, ndim: int = 3) -> tuple[float, ...]:
    """Voxel size in mm, in array order (``(z, y, x)``), from a voxel-to-world affine."""
    norms = np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))
    n = min(ndim, 3)
    return tuple(float(v) for v in norms[:n][::-1])


# --------------------------------------------------------------------------- atomic writes


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    An interruption (``KeyboardInterrupt``, a full disk) leaves ``path`` as it was and removes the
    temporary file. Parent folders are created.

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


# --------------------------------------------------------------------------- reading


def _squeeze_to(data: np.ndarray, expect_ndim: int, path: Path) -> np.ndarray:
    """Drop trailing length-1 axes (in nibabel order) until ``data`` has ``expect_ndim`` axes."""
    while data.ndim > expect_ndim and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != expect_ndim:
        raise NiftiError(
            f"{path}: expected a {expect_ndim}D image, got a {data.ndim}D array of shape "
            f"{data.shape} (x, y, z[, t] as stored)"
        )
    return data


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed with the gzip CRC-32 and length verified."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, zlib.error, EOFError, OSError) as err:
        raise NiftiError(
            f"{path}: the gzip stream is corrupt or truncated ({type(err).__name__}: {err}); "
            "the file was damaged in transfer or on disk: download or unpack it again"
        ) from err


def _load_image(path: Path) -> tuple[nib.Nifti1Image | nib.Nifti2Image, np.ndarray]:
    """Parse a NIfTI-1/2 single file from its (checked) bytes; also its pixdim as stored.

    nibabel silently replaces a zero pixdim by 1 when it loads a header; the raw values are
    read without that fix so that :func:`_geometry` can refuse them.
    """
    raw = _file_bytes(path)
    sizes = {int.from_bytes(raw[:4], order) for order in ("little", "big")} if raw else set()
    cls = nib.Nifti2Image if 540 in sizes else nib.Nifti1Image
    if not sizes & {348, 540}:
        raise NiftiError(
            f"{path}: not a NIfTI file (no NIfTI-1/2 header; .hdr/.img pairs, DICOM, MHA and "
            "NRRD are not read here: convert them to .nii.gz first)"
        )
    try:
        raw_header = cls.header_class.from_fileobj(io.BytesIO(raw), check=False)
        pixdim = np.asarray(raw_header["pixdim"], dtype=np.float64)
        with contextlib.redirect_stderr(io.StringIO()):
            return cls.from_bytes(raw), pixdim
    except (nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError) as err:
        raise NiftiError(f"{path}: not a readable NIfTI file ({err})") from err
    except (ValueError, OSError, EOFError) as err:
        raise NiftiError(f"{path}: cannot read ({type(err).__name__}: {err})") from err


def _voxels(img: nib.Nifti1Image, path: Path) -> np.ndarray:
    """The voxel array; refuses truncated data and non-scalar (RGB, complex) voxel types."""
    dtype = img.get_data_dtype()
    if dtype.fields is not None or dtype.kind == "V":
        raise NiftiError(
            f"{path}: voxels are {dtype} (an RGB or vector image); expected one scalar per "
            "voxel: convert it to grey levels first"
        )
    if dtype.kind == "c":
        raise NiftiError(f"{path}: voxels are complex ({dtype}); expected a magnitude image")
    try:
        data = np.asarray(img.dataobj)
    except (EOFError, OSError, ValueError) as err:
        raise NiftiError(
            f"{path}: voxel data cannot be read, the file is corrupt or truncated "
            f"({type(err).__name__}: {err})"
        ) from err
    if data.size == 0:
        raise NiftiError(f"{path}: the image has no voxels (shape {data.shape} as stored)")
    return data


def _check_finite(data: np.ndarray, path: Path) -> None:
    if not np.issubdtype(data.dtype, np.floating):
        return
    n_nan = int(np.isnan(data).sum())
    n_inf = int(np.isinf(data).sum())
    if n_nan or n_inf:
        parts = [f"{n_nan} NaN voxel(s)"] if n_nan else []
        parts += [f"{n_inf} infinite voxel(s)"] if n_inf else []
        raise NiftiError(f"{path}: {' and '.join(parts)} of {data.size}; expected none")


def _qform_matches_sform(header: nib.Nifti1Header, shape: tuple[int, ...]) -> bool:
    """Whether sform and qform (when both set) put every corner voxel within half a voxel."""
    sform, s_code = header.get_sform(coded=True)
    qform, q_code = header.get_qform(coded=True)
    if not s_code or not q_code or sform is None or qform is None:
        return True
    spatial = [max(int(n) - 1, 0) for n in (list(shape) + [1, 1, 1])[:3]]
    corners = np.array(np.meshgrid(*[[0, n] for n in spatial], indexing="ij")).reshape(3, -1)
    corners = np.vstack([corners, np.ones(corners.shape[1])])
    gap = np.abs((sform - qform) @ corners)[:3].max()
    half_voxel = 0.5 * min(spacing_from_affine(sform))
    return bool(gap <= half_voxel)


def _geometry(
    img: nib.Nifti1Image, raw_pixdim: np.ndarray, n_spatial: int, path: Path
) -> tuple[np.ndarray, tuple[float, ...]]:
    """The affine in mm and the spacing in array order, checked against ``pixdim`` and units."""
    header = img.header
    unit = header.get_xyzt_units()[0]
    if unit not in _UNIT_TO_MM:
        raise NiftiError(f"{path}: unknown spatial unit {unit!r} in xyzt_units")
    scale = _UNIT_TO_MM[unit]
    affine = np.asarray(img.affine, dtype=np.float64).copy()
    affine[:3, :] *= scale
    if not np.isfinite(affine).all():
        raise NiftiError(f"{path}: the voxel-to-world affine holds NaN or inf:\n{affine}")
    from_affine = np.array(spacing_from_affine(affine, n_spatial))
    pixdim = np.abs(raw_pixdim[1 : 1 + n_spatial][::-1]) * scale
    where = "sform" if header.get_sform(coded=True)[1] else "qform"
    if not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0):
        raise NiftiError(
            f"{path}: pixdim gives voxel size {tuple(pixdim.tolist())} mm (z, y, x); zero or NaN "
            f"is not a voxel size (the {where} says {tuple(np.round(from_affine, 4).tolist())} "
            "mm): fix the header, e.g. write pixdim from the affine"
        )
    if np.any(from_affine <= 0) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise NiftiError(f"{path}: the voxel-to-world affine is singular:\n{affine}")
    if not np.allclose(pixdim, from_affine, rtol=_PIXDIM_RTOL, atol=_SPACING_TOL_MM):
        raise NiftiError(
            f"{path}: pixdim says the voxel size is {tuple(np.round(pixdim, 4).tolist())} mm but "
            f"the {where} says {tuple(np.round(from_affine, 4).tolist())} mm (z, y, x); the header "
            "is inconsistent: re-export the file or fix pixdim"
        )
    low, high = _VOXEL_MM_RANGE
    if np.any(from_affine < low) or np.any(from_affine > high):
        raise NiftiError(
            f"{path}: voxel size {tuple(np.round(from_affine, 4).tolist())} mm (z, y, x; header "
            f"units {unit!r}) is outside {low}-{high} mm: the units in xyzt_units are wrong"
        )
    if not _qform_matches_sform(header, img.shape):
        raise NiftiError(
            f"{path}: sform and qform describe different grids (more than half a voxel apart); "
            "tools disagree on which to use: re-export the file with one geometry"
        )
    return affine, tuple(float(v) for v in from_affine)


def read_nifti(
    path: str | Path, *, expect_ndim: int | None = None, allow_nan: bool = False
) -> NiftiImage:
    """Read a ``.nii`` / ``.nii.gz`` file into the ``(z, y, x)`` convention.

    Args:
        path: The file.
        expect_ndim: If given (2, 3 or 4), the number of axes the image must have; trailing
            length-1 axes (e.g. a 3D image stored as ``(x, y, z, 1)``) are dropped first.
        allow_nan: If False (default), a float image holding NaN or infinite values raises
            :class:`NiftiError`.

    Returns:
        A :class:`NiftiImage` whose array axes are reversed with respect to the file; its
        spacing and affine are in mm (see the module docstring for what is checked).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        NiftiError: Not a NIfTI file, a corrupt (bad CRC, truncated) file, the wrong rank,
            an inconsistent geometry, RGB or complex voxels, no voxels, NaN or inf.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    try:
        img, raw_pixdim = _load_image(path)
    except OSError as err:
        raise NiftiError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    data = _voxels(img, path)
    if expect_ndim is not None:
        data = _squeeze_to(data, expect_ndim, path)
    else:
        while data.ndim > 3 and data.shape[-1] == 1:
            data = data[..., 0]
    if not allow_nan:
        _check_finite(data, path)
    affine, spacing = _geometry(img, raw_pixdim, min(data.ndim, 3), path)
    array = np.ascontiguousarray(data.transpose(tuple(range(data.ndim))[::-1]))
    header = img.header
    oriented = bool(header.get_sform(coded=True)[1] or header.get_qform(coded=True)[1])
    return NiftiImage(array=array, spacing=spacing, affine=affine, path=path, oriented=oriented)


# --------------------------------------------------------------------------- writing


def _check_affine(path: Path, affine: np.ndarray, spacing, n_spatial: int) -> np.ndarray:
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"{path}: affine must be 4x4, got {affine.shape}")
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"{path}: affine must be finite and invertible, got\n{affine}")
    if spacing is not None:
        from_affine = spacing_from_affine(affine, n_spatial)
        if len(spacing) != n_spatial or not np.allclose(from_affine, spacing, atol=_SPACING_TOL_MM):
            raise ValueError(
                f"{path}: spacing {tuple(spacing)} disagrees with the affine's "
                f"voxel size {from_affine}"
            )
    return affine


def _nifti_image(data: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """A NIfTI-1 image whose sform (and qform, when it can represent the affine) is ``affine``."""
    img = nib.Nifti1Image(data, affine)
    header = img.header
    header.set_sform(affine, code=1)
    header.set_qform(affine, code=1)
    if not np.allclose(header.get_qform(), affine, atol=1e-4):
        header.set_qform(affine, code=0)  # a sheared affine: only the sform can hold it
    header.set_xyzt_units("mm", "sec")
    zooms = spacing_from_affine(affine, 3)[::-1]
    if data.ndim == 4:
        header.set_zooms((*zooms, 1.0))
    elif data.ndim == 3:
        header.set_zooms(zooms)
    else:
        header.set_zooms(zooms[:2])
    return img


def write_nifti(
    path: str | Path,
    array: np.ndarray,
    spacing: tuple[float, ...] | None = None,
    affine: np.ndarray | None = None,
    *,
    dtype: np.dtype | type | None = None,
) -> Path:
    """Write an array in the ``(z, y, x)`` convention as NIfTI-1 (gzipped if ``.gz``), atomically.

    Args:
        path: Output file, ``.nii`` or ``.nii.gz``; parent folders are created. An existing file
            is replaced in one step (never left half-written).
        array: Shape ``(z, y, x)``, ``(y, x)`` or ``(t, z, y, x)``. Booleans are written as uint8.
        spacing: Voxel size in mm in array order (spatial axes only). Ignored for the geometry
            when ``affine`` is given, but then it must agree with the affine's column norms.
        affine: 4×4 voxel-to-world matrix in mm, nibabel ``(i, j, k)`` order, e.g. the ``affine``
            of a :class:`NiftiImage`; defaults to :func:`affine_from_spacing` (1 mm if no spacing).
        dtype: Store as this dtype (default: the array's dtype).

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    if not (path.name.endswith(".nii") or path.name.endswith(".nii.gz")):
        raise ValueError(f"{path}: a NIfTI file name must end with .nii or .nii.gz")
    array = np.asarray(array)
    if array.ndim not in (2, 3, 4):
        raise ValueError(f"{path}: can write 2D, 3D or 4D arrays, got shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if dtype is not None:
        array = array.astype(dtype)
    n_spatial = min(array.ndim, 3)
    if affine is None:
        affine = affine_from_spacing(spacing if spacing is not None else (1.0,) * n_spatial)
    else:
        affine = _check_affine(path, affine, spacing, n_spatial)
    data = np.ascontiguousarray(array.transpose(tuple(range(array.ndim))[::-1]))
    raw = _nifti_image(data, affine).to_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    return atomic_write_bytes(path, raw)

"""NIfTI read/write with one axis convention for the whole package.

**Axis convention.** Every array in ``zmic_lessons`` is indexed ``(z, y, x)`` — slice, row, column —
and every spacing is given in the same order, in millimetres. NIfTI (and nibabel) store voxels as
``(i, j, k)`` = ``(x, y, z)``, so :func:`read_nifti` reverses the axes and :func:`write_nifti`
reverses them back. A 2D file ``(x, y)`` becomes ``(y, x)``; a 4D file ``(x, y, z, t)`` becomes
``(t, z, y, x)``. The 4×4 ``affine`` is kept exactly as in the file (it maps nibabel's ``(i, j, k)``
voxel indices to world millimetres), so writing an image back with its affine reproduces the file's
geometry.

Errors: a missing file raises ``FileNotFoundError``; anything that is not a readable NIfTI of the
expected rank, or holds NaNs, raises :class:`NiftiError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = [
    "NiftiError",
    "NiftiImage",
    "affine_from_spacing",
    "read_nifti",
    "spacing_from_affine",
    "write_nifti",
]

_SPACING_TOL_MM = 1e-4


class NiftiError(ValueError):
    """A file is not a readable NIfTI image of the expected rank, or holds NaNs."""


@dataclass
class NiftiImage:
    """A NIfTI image in the package's ``(z, y, x)`` convention.

    Attributes:
        array: Voxel values, shape ``(z, y, x)`` (3D), ``(y, x)`` (2D) or ``(t, z, y, x)`` (4D),
            in the file's own dtype (scaled to float if the header has a scale slope).
        spacing: Voxel size in mm of the spatial axes, in array order (``(z, y, x)`` for 3D).
        affine: 4×4 voxel-to-world matrix of the file, in nibabel's ``(i, j, k)`` order.
        path: The file it was read from, if any.
    """

    array: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray
    path: Path | None = None

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
    if len(sp) != 3 or min(sp) <= 0:
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


def read_nifti(
    path: str | Path, *, expect_ndim: int | None = None, allow_nan: bool = False
) -> NiftiImage:
    """Read a ``.nii`` / ``.nii.gz`` file into the ``(z, y, x)`` convention.

    Args:
        path: The file.
        expect_ndim: If given (2, 3 or 4), the number of axes the image must have; trailing
            length-1 axes (e.g. a 3D image stored as ``(x, y, z, 1)``) are dropped first.
        allow_nan: If False (default), a float image holding NaNs raises :class:`NiftiError`.

    Returns:
        A :class:`NiftiImage` whose array axes are reversed with respect to the file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        NiftiError: Not a NIfTI file, a corrupt (e.g. truncated gzip) file, the wrong rank, NaNs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    try:
        img = nib.load(str(path))
    except (nib.filebasedimages.ImageFileError, gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise NiftiError(
            f"{path}: not a readable NIfTI file ({type(err).__name__}: {err})"
        ) from err
    except OSError as err:
        raise NiftiError(f"{path}: cannot read ({type(err).__name__}: {err})") from err
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise NiftiError(f"{path}: expected a NIfTI-1/2 image, got {type(img).__name__}")
    try:
        data = np.asarray(img.dataobj)
    except (gzip.BadGzipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise NiftiError(
            f"{path}: voxel data cannot be read, the file is corrupt or truncated "
            f"({type(err).__name__}: {err})"
        ) from err
    if expect_ndim is not None:
        data = _squeeze_to(data, expect_ndim, path)
    elif data.ndim > 3:
        while data.ndim > 3 and data.shape[-1] == 1:
            data = data[..., 0]
    if not allow_nan and np.issubdtype(data.dtype, np.floating):
        n_nan = int(np.isnan(data).sum())
        if n_nan:
            raise NiftiError(f"{path}: {n_nan} NaN voxel(s) of {data.size}; expected none")
    array = np.ascontiguousarray(data.transpose(tuple(range(data.ndim))[::-1]))
    affine = np.asarray(img.affine, dtype=np.float64)
    zooms = img.header.get_zooms()
    n_spatial = min(data.ndim, 3)
    spacing = tuple(float(z) for z in zooms[:n_spatial][::-1])
    return NiftiImage(array=array, spacing=spacing, affine=affine, path=path)


def write_nifti(
    path: str | Path,
    array: np.ndarray,
    spacing: tuple[float, ...] | None = None,
    affine: np.ndarray | None = None,
    *,
    dtype: np.dtype | type | None = None,
) -> Path:
    """Write an array in the ``(z, y, x)`` convention as NIfTI-1 (gzipped if ``.gz``).

    Args:
        path: Output file, ``.nii`` or ``.nii.gz``; parent folders are created.
        array: Shape ``(z, y, x)``, ``(y, x)`` or ``(t, z, y, x)``. Booleans are written as uint8.
        spacing: Voxel size in mm in array order (spatial axes only). Ignored for the geometry
            when ``affine`` is given, but then it must agree with the affine's column norms.
        affine: 4×4 voxel-to-world matrix in nibabel ``(i, j, k)`` order, e.g. the ``affine`` of
            a :class:`NiftiImage`; defaults to :func:`affine_from_spacing` (1 mm if no spacing).
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
        affine = np.asarray(affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"{path}: affine must be 4x4, got {affine.shape}")
        if spacing is not None:
            from_affine = spacing_from_affine(affine, n_spatial)
            if len(spacing) != n_spatial or not np.allclose(
                from_affine, spacing, atol=_SPACING_TOL_MM
            ):
                raise ValueError(
                    f"{path}: spacing {tuple(spacing)} disagrees with the affine's "
                    f"voxel size {from_affine}"
                )
    data = np.ascontiguousarray(array.transpose(tuple(range(array.ndim))[::-1]))
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    if data.ndim == 4:
        img.header.set_zooms((*img.header.get_zooms()[:3], 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return path

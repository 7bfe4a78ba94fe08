"""Images for the restoration chapter: files shipped inside installed packages, and MR phantoms.

Nothing is downloaded at run time. Three groups:

* **Always available** (dependencies of the package):

  - scikit-image's *bundled* images (``camera``, ``astronaut`` ... read straight from the files
    inside ``skimage/data``; the pooch-fetched ones such as ``brain`` or ``cells3d`` are not
    offered because they need the internet);
  - nibabel's test volumes ``nibabel_anatomical`` (33x41x25, 2 mm) and ``nibabel_example4d``
    (first frame of a 128x96x24 EPI, 2x2x2.2 mm): real but tiny brain MRI;
  - analytic phantoms: ``mr_shepp_logan_t1|t2|pd`` (the modified Shepp-Logan geometry with a
    T1/T2/PD per ellipse and a spin-echo signal equation) and, once the cardiac phantom is
    installed, ``cardiac_bssfp`` / ``cardiac_lge`` (a short-axis slice).

* **Optional**, used only if the package is installed (``pip install nilearn`` /
  ``pip install dipy`` / ``pip install pydicom pydicom-data``); asking for them otherwise raises
  :class:`~zmic_lessons.data.errors.MissingDataError` saying what to install:

  - ``mni152_t1``: the MNI ICBM152 2009a T1 template (197x233x189, 1 mm) in the nilearn wheel;
  - ``dipy_t1_slice`` (256x256 T1) and ``dipy_aniso`` (58x58x24 at 4x4x5 mm) in the dipy wheel;
  - ``dicom_mr_shoulder`` (1024x1024 MR, 0.195 mm) and ``dicom_ct_abdomen`` (512x512 CT) from
    pydicom-data.

2D images come back as ``float32 (H, W)`` in [0, 1]; volumes as ``float32 (Z, Y, X)`` in [0, 1]
with their spacing. 8-bit images are divided by 255; other images are scaled between their 0.5th
and 99.5th percentiles and clipped.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import read_nifti
from .errors import MissingDataError

__all__ = [
    "IMAGES",
    "ImageSource",
    "available_images",
    "load_image",
    "load_volume",
    "mr_shepp_logan",
]


@dataclass(frozen=True)
class ImageSource:
    """One image the chapter can use.

    Attributes:
        name: Key for :func:`load_image` / :func:`load_volume`.
        kind: ``"2d"`` or ``"3d"``.
        description: What it shows, its size and spacing.
        package: The installed package that ships it (``None`` for the analytic phantoms).
        install: What to ``pip install`` when the package is missing (``None`` if a dependency).
    """

    name: str
    kind: str
    description: str
    package: str | None
    install: str | None = None


_SKIMAGE_FILES = {
    "camera": ("camera.png", "cameraman, 512x512 grey"),
    "astronaut": ("astronaut.png", "astronaut Eileen Collins, 512x512 (converted to grey)"),
    "brick": ("brick.png", "brick wall texture, 512x512 grey"),
    "coins": ("coins.png", "Greek coins, 303x384 grey"),
    "moon": ("moon.png", "lunar surface, 512x512 grey"),
    "text": ("text.png", "hand-written text, 172x448 grey"),
    "grass": ("grass.png", "grass texture, 512x512 grey"),
    "gravel": ("gravel.png", "gravel texture, 512x512 grey"),
    "page": ("page.png", "scanned page, 191x384 grey"),
    "retina": ("retina.jpg", "retinal fundus photograph, 1411x1411 (converted to grey)"),
    "microaneurysms": ("microaneurysms.png", "retinal detail with microaneurysms, 102x102 grey"),
    "cell": ("cell.png", "cell microscopy, 660x550 grey"),
    "shepp_logan": ("phantom.png", "Shepp-Logan phantom as shipped by scikit-image, 400x400"),
}

IMAGES: dict[str, ImageSource] = {
    **{
        name: ImageSource(name, "2d", desc, "skimage") for name, (_, desc) in _SKIMAGE_FILES.items()
    },
    "nibabel_anatomical": ImageSource(
        "nibabel_anatomical",
        "3d",
        "tiny T1 brain MRI, 33x41x25 at 2 mm (nibabel test data)",
        "nibabel",
    ),
    "nibabel_example4d": ImageSource(
        "nibabel_example4d",
        "3d",
        "first frame of an EPI series, 128x96x24 at 2x2x2.2 mm",
        "nibabel",
    ),
    "mr_shepp_logan_t1": ImageSource(
        "mr_shepp_logan_t1", "2d", "Shepp-Logan geometry, T1-weighted spin echo", None
    ),
    "mr_shepp_logan_t2": ImageSource(
        "mr_shepp_logan_t2", "2d", "Shepp-Logan geometry, T2-weighted spin echo", None
    ),
    "mr_shepp_logan_pd": ImageSource(
        "mr_shepp_logan_pd", "2d", "Shepp-Logan geometry, PD-weighted spin echo", None
    ),
    "cardiac_bssfp": ImageSource(
        "cardiac_bssfp", "2d", "cardiac phantom, short-axis bSSFP slice, 256x256", "zmic_cardiac"
    ),
    "cardiac_lge": ImageSource(
        "cardiac_lge", "2d", "cardiac phantom, short-axis LGE slice, 256x256", "zmic_cardiac"
    ),
    "mni152_t1": ImageSource(
        "mni152_t1",
        "3d",
        "MNI ICBM152 2009a T1 template, 189x233x197 at 1 mm (nilearn)",
        "nilearn",
        "nilearn",
    ),
    "dipy_t1_slice": ImageSource(
        "dipy_t1_slice", "2d", "coronal T1 brain slice, 256x256 (dipy)", "dipy", "dipy"
    ),
    "dipy_aniso": ImageSource(
        "dipy_aniso", "3d", "anisotropic brain volume, 24x58x58 at 5x4x4 mm (dipy)", "dipy", "dipy"
    ),
    "dicom_mr_shoulder": ImageSource(
        "dicom_mr_shoulder",
        "2d",
        "shoulder MR, 1024x1024 at 0.195 mm (pydicom-data)",
        "data_store",
        "pydicom pydicom-data",
    ),
    "dicom_ct_abdomen": ImageSource(
        "dicom_ct_abdomen",
        "2d",
        "abdominal CT, 512x512 at 0.86 mm (pydicom-data)",
        "data_store",
        "pydicom pydicom-data",
    ),
}

_OPTIONAL_FILES = {
    "mni152_t1": ("nilearn", "datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"),
    "dipy_t1_slice": ("dipy", "data/files/t1_coronal_slice.npy"),
    "dipy_aniso": ("dipy", "data/files/aniso_vox.nii.gz"),
    "dicom_mr_shoulder": ("data_store", "data/MR2_UNCR.dcm"),
    "dicom_ct_abdomen": ("data_store", "data/explicit_VR-UN.dcm"),
}


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (nilearn imports slowly)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _optional_path(name: str) -> Path | None:
    package, rel = _OPTIONAL_FILES[name]
    root = _package_dir(package)
    if root is None or not (root / rel).is_file():
        return None
    if name.startswith("dicom_") and importlib.util.find_spec("pydicom") is None:
        return None
    return root / rel


def _is_available(src: ImageSource) -> bool:
    if src.name in _OPTIONAL_FILES:
        return _optional_path(src.name) is not None
    if src.package == "zmic_cardiac":
        return importlib.util.find_spec("zmic_lessons.data.cardiac") is not None
    return True


def available_images(kind: str | None = None) -> list[str]:
    """Names of the images that can be loaded now (optional ones only if installed).

    Args:
        kind: ``"2d"`` or ``"3d"`` to filter; ``None`` for all.
    """
    return [
        name
        for name, src in IMAGES.items()
        if (kind is None or src.kind == kind) and _is_available(src)
    ]


def _to_unit(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]: 8-bit by 255, otherwise between the 0.5th and 99.5th percentile."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return (image / 255.0).astype(np.float32)
    image = image.astype(np.float64)
    lo, hi = np.percentile(image, [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _grey(image: np.ndarray) -> np.ndarray:
    """RGB(A) uint8 to grey uint8 with ITU-R 601 weights; grey images unchanged."""
    if image.ndim == 3:
        weights = np.array([0.299, 0.587, 0.114])
        image = np.clip(image[..., :3] @ weights, 0, 255).round().astype(np.uint8)
    return image


# modified Shepp-Logan ellipses (Toft): centre x, centre y, semi-axis a, semi-axis b, angle (deg)
_SL_ELLIPSES = (
    (0.0, 0.0, 0.69, 0.92, 0.0),
    (0.0, -0.0184, 0.6624, 0.874, 0.0),
    (0.22, 0.0, 0.11, 0.31, -18.0),
    (-0.22, 0.0, 0.16, 0.41, 18.0),
    (0.0, 0.35, 0.21, 0.25, 0.0),
    (0.0, 0.1, 0.046, 0.046, 0.0),
    (0.0, -0.1, 0.046, 0.046, 0.0),
    (-0.08, -0.605, 0.046, 0.023, 0.0),
    (0.0, -0.605, 0.023, 0.023, 0.0),
    (0.06, -0.605, 0.023, 0.046, 0.0),
)
# (PD, T1 ms, T2 ms) per ellipse at 1.5 T: scalp/fat, white matter, CSF x2, grey matter,
# two lesions, three small grey-matter-like spots (plausible values in the spirit of Gach 2008)
_SL_TISSUE = (
    (0.80, 300.0, 70.0),
    (0.65, 700.0, 80.0),
    (1.00, 4000.0, 2000.0),
    (1.00, 4000.0, 2000.0),
    (0.80, 1200.0, 110.0),
    (0.90, 1500.0, 200.0),
    (0.90, 1500.0, 200.0),
    (0.85, 1000.0, 120.0),
    (0.85, 1000.0, 120.0),
    (0.85, 1000.0, 120.0),
)
_SE_PARAMS = {"t1": (500.0, 15.0), "t2": (4000.0, 100.0), "pd": (4000.0, 15.0)}


def mr_shepp_logan(size: int = 256, weighting: str = "t1") -> np.ndarray:
    """MR-weighted modified Shepp-Logan phantom.

    Each ellipse is a tissue with proton density, T1 and T2 (later ellipses paint over earlier
    ones), and the image is the spin-echo signal ``PD (1 - exp(-TR/T1)) exp(-TE/T2)`` with
    (TR, TE) = (500, 15) ms for T1w, (4000, 100) ms for T2w and (4000, 15) ms for PD.

    Args:
        size: Output is ``size x size`` pixels.
        weighting: ``"t1"``, ``"t2"`` or ``"pd"``.

    Returns:
        ``float32 (size, size)`` in [0, 1] (divided by the maximum).
    """
    if weighting not in _SE_PARAMS:
        raise ValueError(f"weighting must be one of {sorted(_SE_PARAMS)}, got {weighting!r}")
    tr, te = _SE_PARAMS[weighting]
    coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    x = coords[None, :]
    y = -coords[:, None]  # row 0 is the top (y = +1)
    signal = np.zeros((size, size), dtype=np.float64)
    for (x0, y0, a, b, angle), (pd, t1, t2) in zip(_SL_ELLIPSES, _SL_TISSUE, strict=True):
        th = np.deg2rad(angle)
        u = (x - x0) * np.cos(th) + (y - y0) * np.sin(th)
        v = -(x - x0) * np.sin(th) + (y - y0) * np.cos(th)
        inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        signal[inside] = pd * (1.0 - np.exp(-tr / t1)) * np.exp(-te / t2)
    return (signal / signal.max()).astype(np.float32)


def _missing(src: ImageSource) -> MissingDataError:
    return MissingDataError(
        f"image {src.name!r} ({src.description}) needs an optional package that is not "
        f"installed: pip install {src.install}  (nothing is downloaded at run time); "
        f"available now: {', '.join(available_images())}"
    )


def _read_dicom(path: Path) -> np.ndarray:
    import pydicom  # optional dependency, checked by _optional_path

    ds = pydicom.dcmread(str(path))
    pixels = ds.pixel_array.astype(np.float64)
    slope = float(getattr(ds, "RescaleSlope", 1.0))
    intercept = float(getattr(ds, "RescaleIntercept", 0.0))
    return pixels * slope + intercept


def _source(name: str) -> ImageSource:
    if name not in IMAGES:
        raise ValueError(f"unknown image {name!r}; choose one of {', '.join(IMAGES)}")
    src = IMAGES[name]
    if not _is_available(src):
        raise _missing(src)
    return src


def load_volume(name: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Load a 3D image by name.

    Args:
        name: A ``"3d"`` entry of :data:`IMAGES` (see :func:`available_images`).

    Returns:
        ``(volume, spacing)``: ``float32 (Z, Y, X)`` in [0, 1] and the spacing ``(z, y, x)`` mm.
    """
    src = _source(name)
    if src.kind != "3d":
        raise ValueError(f"image {name!r} is 2D; use load_image")
    if name.startswith("nibabel_"):
        root = _package_dir("nibabel")
        assert root is not None  # nibabel is a dependency
        fname = "anatomical.nii" if name == "nibabel_anatomical" else "example4d.nii.gz"
        img = read_nifti(root / "tests" / "data" / fname)
        array = img.array[0] if img.ndim == 4 else img.array
        spacing = img.spacing
    else:
        path = _optional_path(name)
        assert path is not None
        img = read_nifti(path, expect_ndim=3)
        array, spacing = img.array, img.spacing
    return _to_unit(array), tuple(float(s) for s in spacing)  # type: ignore[return-value]


def load_image(name: str, *, slice_index: int | None = None) -> np.ndarray:
    """Load a 2D image by name (for a volume: one axial slice).

    Args:
        name: A key of :data:`IMAGES` (see :func:`available_images`).
        slice_index: For a 3D entry, the slice along z (default: the middle one).

    Returns:
        ``float32 (H, W)`` in [0, 1].
    """
    src = _source(name)
    if src.kind == "3d":
        volume, _ = load_volume(name)
        index = volume.shape[0] // 2 if slice_index is None else slice_index
        return np.ascontiguousarray(volume[index])
    if name in _SKIMAGE_FILES:
        from skimage.io import imread

        root = _package_dir("skimage")
        assert root is not None
        return _to_unit(_grey(imread(root / "data" / _SKIMAGE_FILES[name][0])))
    if name.startswith("mr_shepp_logan_"):
        return mr_shepp_logan(256, name.rsplit("_", 1)[1])
    loaders: dict[str, Callable[[], np.ndarray]] = {
        "cardiac_bssfp": lambda: _cardiac_slice("bssfp"),
        "cardiac_lge": lambda: _cardiac_slice("lge"),
    }
    if name in loaders:
        return _to_unit(loaders[name]())
    path = _optional_path(name)
    assert path is not None
    if name == "dipy_t1_slice":
        return _to_unit(np.load(path))
    return _to_unit(_read_dicom(path))


@functools.lru_cache(maxsize=1)
def _cardiac_images() -> dict[str, np.ndarray]:
    from .cardiac import simulate_case

    case = simulate_case(0, size=256, n_slices=1)
    return {seq: np.asarray(img[0]) for seq, img in case.images.items()}


def _cardiac_slice(sequence: str) -> np.ndarray:
    return _cardiac_images()[sequence].copy()

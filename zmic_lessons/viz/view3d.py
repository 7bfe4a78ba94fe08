"""3D / multiplanar viewing with NiiVue (ipyniivue), with a plotly fallback.

ipyniivue is an anywidget: in JupyterLab it is fully interactive, and in the static book it
still renders (WebGL2) from the saved widget state because the book vendors anywidget's
front-end module. The volume travels as in-memory NIfTI bytes (no temporary files), so keep
it small: volumes are subsampled to at most ``max_size`` voxels per side.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._arrays import as_labels, as_spacing, as_volume, n_classes, stride_for, to_uint8, window_of
from .colors import class_name, label_lut, normalize_names

MISSING_NIIVUE = (
    "view3d: ipyniivue is not installed, so the 3D viewer is replaced by three orthogonal "
    "planes (plotly). Install the book extras for NiiVue: pip install 'zmic-lessons[book]'"
)

SLICE_TYPES = {"axial": 0, "coronal": 1, "sagittal": 2, "multiplanar": 3, "render": 4}


def nifti_bytes(
    volume: np.ndarray,
    spacing: Sequence[float],
    gz: bool = True,
    quantize: tuple[float, float] | None = None,
) -> bytes:
    """Encode a ``(D0, D1, D2)`` array as NIfTI-1 bytes.

    The array axes are read as ``(z, y, x)`` (slices first, the numpy/SimpleITK habit) and
    written in NIfTI's ``(i, j, k) = (x, y, z)`` order with a diagonal affine of the spacing.

    Args:
        volume: The array; float arrays are stored as float32, integer ones as uint8/int16.
        spacing: Voxel spacing in mm in the array's axis order.
        gz: Gzip the bytes (name the file ``*.nii.gz`` then).
        quantize: ``(low, high)``: store a float volume as 256 levels of that range (clipped)
            with the NIfTI scale slope/intercept, so readers still see image units. Four
            times smaller, which matters when the bytes are saved inside a book page.
    """
    import nibabel as nib

    sp = as_spacing(spacing)
    slope, inter = 1.0, 0.0
    if quantize is not None and not np.issubdtype(volume.dtype, np.integer):
        lo, hi = (float(q) for q in quantize)
        if not hi > lo:
            raise ValueError(f"quantize must be (low, high) with low < high, got {quantize!r}")
        slope, inter = (hi - lo) / 255.0, lo
        volume = to_uint8(volume, (lo, hi))
    if np.issubdtype(volume.dtype, np.integer):
        dtype = np.uint8 if volume.min() >= 0 and volume.max() <= 255 else np.int16
    else:
        dtype = np.float32
    data = np.ascontiguousarray(np.transpose(volume, (2, 1, 0)).astype(dtype))
    affine = np.diag([sp[2], sp[1], sp[0], 1.0])
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm")
    if quantize is not None and dtype == np.uint8 and slope != 1.0:
        img.header.set_slope_inter(slope, inter)
    raw = img.to_bytes()
    return gzip.compress(raw, compresslevel=6, mtime=0) if gz else raw


def _subsample(
    vol: np.ndarray, lab: np.ndarray | None, spacing: tuple[float, float, float], max_size: int
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float, float]]:
    s = stride_for((max(vol.shape), 1), max_size)
    if s == 1:
        return vol, lab, spacing
    sl = tuple(slice(None, None, s if n > max_size else 1) for n in vol.shape)
    steps = tuple(s if n > max_size else 1 for n in vol.shape)
    sp = tuple(a * b for a, b in zip(spacing, steps, strict=True))
    return vol[sl], (lab[sl] if lab is not None else None), sp  # type: ignore[return-value]


def view3d(  # noqa: PLR0913 - a viewer: keyword-only display options
    volume: Any,
    labels: Any | None = None,
    *,
    spacing: Sequence[float] | None = None,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    opacity: float = 0.5,
    slice_type: str = "multiplanar",
    height: int = 420,
    max_size: int = 160,
    show: bool = True,
) -> Any:
    """Show a volume (and its labels) in NiiVue: three planes plus a 3D render.

    Args:
        volume: Image ``(D0, D1, D2)``, axes read as ``(z, y, x)``.
        labels: Optional class indices of the same shape.
        spacing: Voxel spacing in mm, in the volume's axis order.
        label_names: Class names (fix the colours, as in the 2D viewers).
        opacity: Opacity of the label layer.
        slice_type: ``"multiplanar"`` (default), ``"axial"``, ``"coronal"``, ``"sagittal"``
            or ``"render"``.
        height: Widget height in pixels.
        max_size: Larger volumes are subsampled (integer stride) to this many voxels per side.
        show: Display the result at once.

    Returns:
        The ``ipyniivue.NiiVue`` widget, or, when ipyniivue is not installed, the plotly figure
        of :func:`zmic_lessons.viz.orthogonal_figure` (after printing why).
    """
    vol = as_volume(volume)
    lab = as_labels(labels, vol.shape) if labels is not None else None
    names = normalize_names(label_names)
    sp = as_spacing(spacing)
    if slice_type not in SLICE_TYPES:
        raise ValueError(f"slice_type must be one of {sorted(SLICE_TYPES)}, got {slice_type!r}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must lie in [0, 1], got {opacity}")
    try:
        import ipyniivue
    except ImportError:
        return _fallback(vol, lab, sp, names, opacity, show)
    vol, lab, sp = _subsample(vol, lab, sp, max_size)
    nv = ipyniivue.NiiVue(
        height=height,
        slice_type=ipyniivue.SliceType(SLICE_TYPES[slice_type]),
        back_color=(0.0, 0.0, 0.0, 1.0),
        show_3d_crosshair=True,
        is_colorbar=False,
        multiplanar_show_render=ipyniivue.ShowRender.ALWAYS,
    )
    nv.load_volumes(_niivue_volumes(vol, lab, sp, opacity))
    if lab is not None:
        nv.volumes[1].set_colormap_label(_label_colormap(n_classes([lab], names), names))
    if show:
        from IPython.display import display

        display(nv)
    return nv


def _fallback(vol, lab, sp, names, opacity: float, show: bool) -> Any:
    """Without ipyniivue: say why, and show three orthogonal planes (plotly) instead."""
    from .figures import orthogonal_figure
    from .figures import show as show_plotly

    print(MISSING_NIIVUE)
    fig = orthogonal_figure(vol, lab, spacing=sp, label_names=names, opacity=opacity)
    if show:
        show_plotly(fig)
    return fig


def _niivue_volumes(
    vol: np.ndarray, lab: np.ndarray | None, sp: tuple[float, float, float], opacity: float
) -> list[dict[str, Any]]:
    """The image (8-bit levels of a range wider than its display window) and the labels."""
    lo, hi = window_of(vol)
    # the stored range is wider than the initial display window, so that the reader can
    # still widen the window in NiiVue
    margin = 0.25 * (hi - lo)
    full = (max(float(vol.min()), lo - margin), min(float(vol.max()), hi + margin))
    full = full if full[1] > full[0] else (lo, hi)
    image = {"data": nifti_bytes(vol, sp, quantize=full), "name": "image.nii.gz"}
    volumes = [{**image, "colormap": "gray", "cal_min": lo, "cal_max": hi}]
    if lab is not None:
        volumes.append({"data": nifti_bytes(lab, sp), "name": "labels.nii.gz", "opacity": opacity})
    return volumes


def _label_colormap(k: int, names: Mapping[int, str] | None) -> dict[str, list]:
    """NiiVue's label colour map: RGBA (0-255), index and name of every class."""
    lut = label_lut(k, names)
    return {
        "R": [float(v) for v in lut[:, 0] * 255],
        "G": [float(v) for v in lut[:, 1] * 255],
        "B": [float(v) for v in lut[:, 2] * 255],
        "A": [float(v) for v in lut[:, 3] * 255],
        "I": [float(i) for i in range(k)],
        "labels": [class_name(i, names) for i in range(k)],
    }

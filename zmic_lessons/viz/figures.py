"""Plotly figures that stay interactive in the static book: a slider steps through slices.

Every slice is one trace and the slider toggles ``visible``, so the page needs no kernel.
The cost is that all shown slices are in the page: volumes are downsampled in-plane to
``max_size`` pixels and to ``max_slices`` slices, and intensities are sent as 8-bit grey
levels of the display window (plotly stores numpy arrays as compact base64 typed arrays).
The building blocks (traces, slider, :func:`show`) are in :mod:`._plotly`; the frame stepper
:func:`frames_figure` in :mod:`.frames`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._arrays import (
    as_labels,
    as_spacing,
    as_volume,
    busiest_index,
    check_axis,
    check_window,
    compare_panels,
    n_classes,
    pick_slices,
    plane_spacing,
    stride_for,
    to_uint8,
)
from ._plotly import (
    BOTTOM_LEGEND,
    DEFAULT_HEIGHT,
    LabelStyle,
    heatmaps,
    image_axes,
    legend_traces,
    show,
    slider,
)
from .colors import normalize_names
from .frames import frames_figure

__all__ = ["compare_figure", "frames_figure", "orthogonal_figure", "show", "slice_figure"]


@dataclass(frozen=True)
class _Slices:
    """One volume ready to draw: slicing axis first, subsampled, quantised to 8 bits.

    Attributes:
        img8: ``uint8`` (n_shown, h, w) grey levels of ``window``.
        lab8: Labels of the shown slices, subsampled like ``img8`` (or ``None``).
        lab_full: All labels with the slicing axis first (to find the busiest slice).
        indices: Indices (along the axis) of the shown slices.
        step: (row, column) pixel size in mm after subsampling.
        window: Display window ``(low, high)``.
    """

    img8: np.ndarray
    lab8: np.ndarray | None
    lab_full: np.ndarray | None
    indices: np.ndarray
    step: tuple[float, float]
    window: tuple[float, float]

    def slice_traces(self, j: int, style: LabelStyle, visible: bool) -> list[go.Heatmap]:
        lab = None if self.lab8 is None else self.lab8[j]
        return heatmaps(self.img8[j], lab, style, self.step, self.window, visible)


def _prepare(
    volume: Any,
    labels: Any | None,
    axis: int,
    spacing: Sequence[float] | None,
    sampling: tuple[int, int],
    window: Sequence[float] | None,
) -> _Slices:
    """Check, reorient (slicing axis first), subsample (``sampling`` = (max slices, max
    in-plane size)) and quantise one volume."""
    max_slices, max_size = sampling
    vol = as_volume(volume)
    ax = check_axis(axis)
    lab = as_labels(labels, vol.shape) if labels is not None else None
    win = check_window(window, vol)
    vol_t = np.moveaxis(vol, ax, 0)
    lab_t = np.moveaxis(lab, ax, 0) if lab is not None else None
    idx = pick_slices(vol_t.shape[0], max_slices)
    s = stride_for(vol_t.shape[1:], max_size)
    rows, cols = plane_spacing(as_spacing(spacing), ax)
    return _Slices(
        img8=to_uint8(vol_t[idx, ::s, ::s], win),
        lab8=lab_t[idx, ::s, ::s] if lab_t is not None else None,
        lab_full=lab_t,
        indices=idx,
        step=(rows * s, cols * s),
        window=win,
    )


def _start_position(idx: np.ndarray, start: int | None, lab_full: np.ndarray | None) -> int:
    if start is None:
        return busiest_index(lab_full, idx)
    return int(np.argmin(np.abs(idx - int(start))))


def _label_style(prepared: Sequence[_Slices], names, opacity: float) -> LabelStyle:
    """The class count over every labelled panel (1 without labels)."""
    lab8s = [p.lab8 for p in prepared if p.lab8 is not None]
    return LabelStyle(n_classes(lab8s, names) if lab8s else 1, names, opacity)


def _add_scroller(
    fig: go.Figure,
    prepared: Sequence[_Slices],
    style: LabelStyle,
    active: int,
    grid: bool,
    prefix: str,
) -> dict:
    """Add every shown slice of every panel (slice by slice, panel by panel) and the colour
    key; return the slider that steps through the slices (``grid``: subplots, one per panel)."""
    owners: list[int] = []  # slice position of each heatmap trace
    for j in range(len(prepared[0].indices)):
        for col, p in enumerate(prepared, start=1):
            for trace in p.slice_traces(j, style, j == active):
                fig.add_trace(trace, **({"row": 1, "col": col} if grid else {}))
                owners.append(j)
    has_labels = any(p.lab8 is not None for p in prepared)
    legend = legend_traces(style) if has_labels else []
    for trace in legend:
        fig.add_trace(trace, **({"row": 1, "col": 1} if grid else {}))
    labels = [str(i) for i in prepared[0].indices]
    return slider(labels, owners, len(legend), active, prefix)


def slice_figure(  # noqa: PLR0913 - a figure builder: keyword-only display options
    volume: Any,
    labels: Any | None = None,
    *,
    axis: int = 0,
    spacing: Sequence[float] | None = None,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    max_slices: int = 32,
    max_size: int = 128,
    opacity: float = 0.45,
    window: Sequence[float] | None = None,
    start: int | None = None,
    title: str | None = None,
    height: int = DEFAULT_HEIGHT,
) -> go.Figure:
    """A slice scroller: one heatmap per slice, a slider, labels as a colour overlay.

    Args:
        volume: Image ``(D0, D1, D2)`` (or 2D ``(H, W)``); torch tensors are accepted.
        labels: Optional class indices of the same shape, 0 = background.
        axis: Axis to cut slices along (the slider walks it).
        spacing: Voxel spacing in mm in the volume's axis order; axes are drawn in mm.
        label_names: Class names (sequence by index or ``{index: name}``); fix the colours.
        max_slices: At most this many evenly spaced slices go into the figure.
        max_size: The larger in-plane side is subsampled (integer stride) to at most this.
        opacity: Opacity of the label overlay.
        window: Display window ``(low, high)``; robust percentiles of the volume by default.
        start: Slice index (along ``axis``) shown first; the nearest shown slice is used.
            By default the slice with the most labelled voxels, else the middle one.
        title: Figure title.
        height: Figure height in pixels.

    Returns:
        A ``plotly.graph_objects.Figure`` with ``(1 or 2) * n_shown_slices`` heatmap traces
        followed by one legend trace per labelled class; show it with :func:`show`.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must lie in [0, 1], got {opacity}")
    p = _prepare(volume, labels, axis, spacing, (max_slices, max_size), window)
    style = _label_style([p], normalize_names(label_names), opacity)
    active = _start_position(p.indices, start, p.lab_full)
    fig = go.Figure()
    scroller = _add_scroller(fig, [p], style, active, False, f"slice (axis {axis}): ")
    fig.update_layout(
        sliders=[scroller],
        height=height,
        margin={"l": 50, "r": 20, "t": 50 if title else 20, "b": 20},
        title=title,
        plot_bgcolor="black",
        legend={"x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top"},
    )
    image_axes(fig, 1)
    return fig


def compare_figure(  # noqa: PLR0913 - a figure builder: keyword-only display options
    images: Mapping[str, Any],
    labels: Mapping[str, Any] | None = None,
    *,
    axis: int = 0,
    spacing: Sequence[float] | None = None,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    max_slices: int = 16,
    max_size: int = 80,
    opacity: float = 0.45,
    windows: Mapping[str, Sequence[float]] | None = None,
    start: int | None = None,
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """Panels side by side (images, predictions, ground truth) with one shared slice slider.

    Panels are the keys of ``images`` followed by the keys of ``labels`` that are not image
    names. A ``labels`` entry whose key is an image name is overlaid on that image; any other
    entry (a prediction, the ground truth) gets its own panel, overlaid on the first image.

    Args:
        images: ``{panel name: volume}``, all of the same shape ``(D0, D1, D2)``.
        labels: ``{panel name: label volume}`` of the same shape.
        axis: Axis the slider walks.
        spacing: Voxel spacing in mm, in the volume's axis order.
        label_names: Class names (fix the colours).
        max_slices: At most this many slices.
        max_size: In-plane subsampling target per panel.
        opacity: Overlay opacity.
        windows: Optional display window per image name.
        start: Slice index shown first (default: most labelled slice).
        title: Figure title.
        height: Figure height in pixels.

    Returns:
        A figure with ``n_panels`` subplots; traces are ordered slice by slice, panel by panel.
    """
    windows = dict(windows or {})
    panels = compare_panels(images, labels)
    sampling = (max_slices, max_size)
    prepared = [
        _prepare(vol, lab, axis, spacing, sampling, windows.get(base))
        for _, vol, lab, base in panels
    ]
    style = _label_style(prepared, normalize_names(label_names), opacity)
    lab_full = next((p.lab_full for p in prepared if p.lab_full is not None), None)
    active = _start_position(prepared[0].indices, start, lab_full)
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.03
    )
    scroller = _add_scroller(fig, prepared, style, active, True, f"slice (axis {axis}): ")
    fig.update_layout(
        sliders=[scroller],
        height=height,
        margin={"l": 40, "r": 20, "t": 70 if title else 40, "b": 20},
        title=title,
        plot_bgcolor="black",
        legend=BOTTOM_LEGEND,
    )
    image_axes(fig, len(panels))
    return fig


def _centre_point(vol: np.ndarray, lab: np.ndarray | None, point) -> list[int]:
    """``point``, or the centre of the labels (of the volume without labels); checked."""
    if point is None:
        if lab is not None and (lab > 0).any():
            point = [int(round(c.mean())) for c in np.nonzero(lab > 0)]
        else:
            point = [n // 2 for n in vol.shape]
    point = [int(p) for p in point]
    if len(point) != 3 or any(not 0 <= p < n for p, n in zip(point, vol.shape, strict=False)):
        raise ValueError(f"point {point} is outside the volume of shape {vol.shape}")
    return point


def orthogonal_figure(  # noqa: PLR0913 - a figure builder: keyword-only display options
    volume: Any,
    labels: Any | None = None,
    *,
    spacing: Sequence[float] | None = None,
    point: Sequence[int] | None = None,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    max_size: int = 128,
    opacity: float = 0.45,
    window: Sequence[float] | None = None,
    height: int = 360,
) -> go.Figure:
    """Three orthogonal planes through ``point`` (default: the centre of the labels or volume).

    Args:
        volume: Image ``(D0, D1, D2)``.
        labels: Optional labels of the same shape.
        spacing: Voxel spacing in mm (axis order of the volume).
        point: Voxel index ``(i0, i1, i2)`` the planes pass through.
        label_names: Class names (fix the colours).
        max_size: In-plane subsampling target.
        opacity: Overlay opacity.
        window: Display window ``(low, high)``.
        height: Figure height in pixels.

    Returns:
        A figure with 3 subplots (planes normal to axis 0, 1, 2).
    """
    vol = as_volume(volume)
    if vol.shape[0] == 1:
        raise ValueError(f"volume: orthogonal planes need a 3D volume, got shape {vol.shape}")
    lab = as_labels(labels, vol.shape) if labels is not None else None
    names = normalize_names(label_names)
    win, sp = check_window(window, vol), as_spacing(spacing)
    point = _centre_point(vol, lab, point)
    style = LabelStyle(n_classes([lab], names) if lab is not None else 1, names, opacity)
    titles = [f"axis {a} = {point[a]}" for a in range(3)]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.04)
    for a in range(3):
        img = np.take(vol, point[a], axis=a)
        s = stride_for(img.shape, max_size)
        rows, cols = plane_spacing(sp, a)
        la = None if lab is None else np.take(lab, point[a], axis=a)[::s, ::s]
        img8 = to_uint8(img[::s, ::s], win)
        for trace in heatmaps(img8, la, style, (rows * s, cols * s), win, True):
            fig.add_trace(trace, row=1, col=a + 1)
    for trace in legend_traces(style) if lab is not None else []:
        fig.add_trace(trace, row=1, col=1)
    margin = {"l": 40, "r": 20, "t": 40, "b": 20}
    fig.update_layout(height=height, margin=margin, plot_bgcolor="black", legend=BOTTOM_LEGEND)
    image_axes(fig, 3)
    return fig

"""Plotly figures that stay interactive in the static book: a slider steps through slices.

Every slice is one trace and the slider toggles ``visible``, so the page needs no kernel.
The cost is that all shown slices are in the page: volumes are downsampled in-plane to
``max_size`` pixels and to ``max_slices`` slices, and intensities are sent as 8-bit grey
levels of the display window (plotly stores numpy arrays as compact base64 typed arrays).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
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
    to_numpy,
    to_uint8,
)
from .colors import label_colorscale, legend_entries, normalize_names

DEFAULT_HEIGHT = 460


def show(fig: go.Figure, height: int | None = None) -> None:
    """Display a plotly figure so that it renders in JupyterLab, Colab and the static book.

    Sends both the plotly JSON (JupyterLab's and VS Code's native renderer) and an HTML
    snippet that calls the page's global ``Plotly`` (the book loads one vendored
    ``plotly.min.js`` for all pages, see ``_config.yml``), without the plotly.js or MathJax
    CDN links that plotly's own notebook renderers add.

    Args:
        fig: The figure.
        height: Height in pixels of the HTML snippet when the layout sets none.
    """
    from IPython.display import display

    if "google.colab" in sys.modules:  # Colab renders neither of the two: use its renderer
        fig.show(renderer="colab")
        return
    html = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        default_width="100%",
        default_height=height or fig.layout.height or DEFAULT_HEIGHT,
    )
    bundle = {
        "application/vnd.plotly.v1+json": json.loads(pio.to_json(fig, validate=False)),
        "text/html": html,
        "text/plain": f"<plotly figure: {len(fig.data)} traces>",
    }
    display(bundle, raw=True)


def _legend_traces(k: int, names: Mapping[int, str] | None, **kw: Any) -> list[go.Scatter]:
    """Invisible-data scatter traces that only draw a colour key for the classes."""
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={"color": color, "symbol": "square", "size": 12},
            name=name,
            showlegend=True,
            hoverinfo="skip",
            **kw,
        )
        for _, name, color in legend_entries(k, names)
    ]


def _heatmaps(
    img8: np.ndarray,
    lab: np.ndarray | None,
    k: int,
    names: Mapping[int, str] | None,
    step: tuple[float, float],
    opacity: float,
    visible: bool,
    value_range: tuple[float, float],
) -> list[go.Heatmap]:
    """The image trace (and the label trace) of one slice, in mm coordinates."""
    dy, dx = step
    lo, hi = value_range
    scale = (hi - lo) / 255.0
    geo = {"x0": 0.0, "dx": dx, "y0": 0.0, "dy": dy}
    traces = [
        go.Heatmap(
            z=img8,
            colorscale="gray",
            zmin=0,
            zmax=255,
            showscale=False,
            visible=visible,
            hovertemplate=(
                f"x %{{x:.1f}} mm, y %{{y:.1f}} mm<br>value ≈ %{{z}}·{scale:.3g}+{lo:.3g}"
                "<extra></extra>"
            ),
            **geo,
        )
    ]
    if lab is not None:
        traces.append(
            go.Heatmap(
                z=lab,
                colorscale=label_colorscale(k, names),
                zmin=-0.5,
                zmax=k - 0.5,
                opacity=opacity,
                showscale=False,
                visible=visible,
                hovertemplate="class %{z}<extra></extra>",
                **geo,
            )
        )
    return traces


def _image_axes(fig: go.Figure, n_panels: int) -> None:
    """Square pixels in mm, rows downwards, for every subplot.

    Only a single panel gets an axis title ("mm"): under several panels the colour key sits
    there (all axes are in mm, as the hover text says).
    """
    for i in range(1, n_panels + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"yaxis{suffix}"].update(
            scaleanchor=f"x{suffix}", autorange="reversed", constrain="domain", showgrid=False
        )
        fig.layout[f"xaxis{suffix}"].update(
            constrain="domain", showgrid=False, title_text="mm" if n_panels == 1 else None
        )


#: Colour key under multi-panel figures, between the tick labels and the slider.
BOTTOM_LEGEND = {"orientation": "h", "y": -0.1, "yanchor": "top", "x": 0}


def _slider(labels: Sequence[str], visibles: list[list[bool]], active: int, prefix: str) -> dict:
    steps = [
        {"method": "restyle", "args": [{"visible": vis}], "label": lab}
        for lab, vis in zip(labels, visibles, strict=True)
    ]
    return {
        "active": active,
        "currentvalue": {"prefix": prefix},
        "pad": {"t": 60},
        "steps": steps,
    }


def _prepare(
    volume: Any,
    labels: Any | None,
    axis: int,
    spacing: Sequence[float] | None,
    max_slices: int,
    max_size: int,
    window: Sequence[float] | None,
    vol_name: str = "volume",
    lab_name: str = "labels",
) -> dict[str, Any]:
    """Check, reorient (slicing axis first), subsample and quantise one volume."""
    vol = as_volume(volume, vol_name)
    ax = check_axis(axis)
    lab = as_labels(labels, vol.shape, lab_name) if labels is not None else None
    win = check_window(window, vol)
    vol_t = np.moveaxis(vol, ax, 0)
    lab_t = np.moveaxis(lab, ax, 0) if lab is not None else None
    idx = pick_slices(vol_t.shape[0], max_slices)
    s = stride_for(vol_t.shape[1:], max_size)
    rows, cols = plane_spacing(as_spacing(spacing), ax)
    img8 = to_uint8(vol_t[idx, ::s, ::s], win)
    lab8 = lab_t[idx, ::s, ::s] if lab_t is not None else None
    return {
        "img8": img8,
        "lab8": lab8,
        "lab_full": lab_t,
        "indices": idx,
        "step": (rows * s, cols * s),
        "window": win,
        "shape": vol.shape,
    }


def slice_figure(
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
    names = normalize_names(label_names)
    p = _prepare(volume, labels, axis, spacing, max_slices, max_size, window)
    idx = p["indices"]
    k = n_classes([p["lab8"]], names) if p["lab8"] is not None else 1
    active = _start_position(idx, start, p["lab_full"])
    per = 1 if p["lab8"] is None else 2
    fig = go.Figure()
    for j in range(len(idx)):
        lab = None if p["lab8"] is None else p["lab8"][j]
        for tr in _heatmaps(
            p["img8"][j], lab, k, names, p["step"], opacity, j == active, p["window"]
        ):
            fig.add_trace(tr)
    legend = _legend_traces(k, names) if p["lab8"] is not None else []
    for tr in legend:
        fig.add_trace(tr)
    visibles = [
        [jj == j for jj in range(len(idx)) for _ in range(per)] + [True] * len(legend)
        for j in range(len(idx))
    ]
    fig.update_layout(
        sliders=[_slider([str(i) for i in idx], visibles, active, f"slice (axis {axis}): ")],
        height=height,
        margin={"l": 50, "r": 20, "t": 50 if title else 20, "b": 20},
        title=title,
        plot_bgcolor="black",
        legend={"x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top"},
    )
    _image_axes(fig, 1)
    return fig


def _start_position(idx: np.ndarray, start: int | None, lab_full: np.ndarray | None) -> int:
    if start is None:
        return busiest_index(lab_full, idx)
    return int(np.argmin(np.abs(idx - int(start))))


def compare_figure(
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
    names = normalize_names(label_names)
    panels = compare_panels(images, labels)
    prepared = [
        _prepare(vol, lab, axis, spacing, max_slices, max_size, windows.get(base))
        for _, vol, lab, base in panels
    ]
    idx = prepared[0]["indices"]
    lab_full = next((p["lab_full"] for p in prepared if p["lab_full"] is not None), None)
    active = _start_position(idx, start, lab_full)
    lab8s = [p["lab8"] for p in prepared if p["lab8"] is not None]
    k = n_classes(lab8s, names) if lab8s else 1
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.03
    )
    owners: list[int] = []  # slice position of each heatmap trace
    for j in range(len(idx)):
        for c, p in enumerate(prepared, start=1):
            lab = None if p["lab8"] is None else p["lab8"][j]
            for tr in _heatmaps(
                p["img8"][j], lab, k, names, p["step"], opacity, j == active, p["window"]
            ):
                fig.add_trace(tr, row=1, col=c)
                owners.append(j)
    legend = _legend_traces(k, names) if lab8s else []
    for tr in legend:
        fig.add_trace(tr, row=1, col=1)
    visibles = [[o == j for o in owners] + [True] * len(legend) for j in range(len(idx))]
    fig.update_layout(
        sliders=[_slider([str(i) for i in idx], visibles, active, f"slice (axis {axis}): ")],
        height=height,
        margin={"l": 40, "r": 20, "t": 70 if title else 40, "b": 20},
        title=title,
        plot_bgcolor="black",
        legend=BOTTOM_LEGEND,
    )
    _image_axes(fig, len(panels))
    return fig


def frames_figure(
    frames: Sequence[Mapping[str, Any]],
    titles: Sequence[str] | None = None,
    *,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    colorscale: str = "gray",
    max_size: int = 96,
    spacing: Sequence[float] | None = None,
    height: int = 380,
) -> go.Figure:
    """Step through a sequence of 2D frames (e.g. EM iterations) with a slider.

    Args:
        frames: One ``{panel name: 2D array (H, W)}`` per step; every frame has the same
            panel names and each panel keeps one shape. Integer arrays are drawn as label
            maps in the class colours; float arrays with ``colorscale`` in one fixed range
            per panel (over all frames, so that the steps are comparable), sent as 8-bit
            levels of that range.
        titles: Slider label per frame (default ``"0", "1", ...``).
        label_names: Class names for integer panels.
        colorscale: Plotly colour scale of float panels.
        max_size: In-plane subsampling target.
        spacing: In-plane pixel spacing ``(row, col)`` in mm.
        height: Figure height in pixels.

    Returns:
        A figure with one subplot per panel and one trace per panel and frame.
    """
    keys, arrays = _check_frames(frames)
    titles = _check_titles(titles, len(frames))
    names = normalize_names(label_names)
    sp = as_spacing(spacing)[1:]
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=keys, horizontal_spacing=0.04)
    int_panels = {key for key in keys if np.issubdtype(arrays[key][0].dtype, np.integer)}
    k = n_classes([a for key in int_panels for a in arrays[key]], names) if int_panels else 1
    ranges = {}
    for key in keys:
        if key not in int_panels:
            stack = np.stack([np.asarray(a, dtype=np.float32) for a in arrays[key]])
            lo, hi = float(np.nanmin(stack)), float(np.nanmax(stack))
            ranges[key] = (lo, hi if hi > lo else lo + 1.0)
    n_f = len(frames)
    for f in range(n_f):
        for c, key in enumerate(keys, start=1):
            a = arrays[key][f]
            s = stride_for(a.shape, max_size)
            geo = {"x0": 0.0, "dx": sp[1] * s, "y0": 0.0, "dy": sp[0] * s}
            if key in int_panels:
                tr = go.Heatmap(
                    z=a[::s, ::s].astype(np.uint8),
                    colorscale=label_colorscale(k, names),
                    zmin=-0.5,
                    zmax=k - 0.5,
                    showscale=False,
                    hovertemplate="class %{z}<extra></extra>",
                    **geo,
                )
            else:
                lo, hi = ranges[key]
                tr = go.Heatmap(
                    z=to_uint8(np.asarray(a[::s, ::s], dtype=np.float32), (lo, hi)),
                    colorscale=colorscale,
                    zmin=0,
                    zmax=255,
                    showscale=False,
                    hovertemplate=(f"value ≈ %{{z}}·{(hi - lo) / 255:.3g}+{lo:.3g}<extra></extra>"),
                    **geo,
                )
            tr.visible = f == 0
            fig.add_trace(tr, row=1, col=c)
    legend = _legend_traces(k, names) if int_panels else []
    for tr in legend:
        fig.add_trace(tr, row=1, col=1)
    nk = len(keys)
    visibles = [
        [ff == f for ff in range(n_f) for _ in range(nk)] + [True] * len(legend) for f in range(n_f)
    ]
    fig.update_layout(
        sliders=[_slider(titles, visibles, 0, "")],
        height=height,
        margin={"l": 40, "r": 20, "t": 40, "b": 20},
        plot_bgcolor="black",
        legend=BOTTOM_LEGEND,
    )
    _image_axes(fig, nk)
    return fig


def _check_frames(
    frames: Sequence[Mapping[str, Any]],
) -> tuple[list[str], dict[str, list[np.ndarray]]]:
    """Validate frames: same keys everywhere, 2D arrays, one shape per panel."""
    if len(frames) == 0:
        raise ValueError("frames: give at least one {name: 2D array}")
    keys = list(frames[0])
    if not keys:
        raise ValueError("frames[0]: no panels")
    arrays: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for f, frame in enumerate(frames):
        if list(frame) != keys:
            raise ValueError(f"frames[{f}]: panels {list(frame)} differ from frames[0] {keys}")
        for key in keys:
            a = to_numpy(frame[key], f"frames[{f}][{key!r}]")
            if a.dtype == bool:
                a = a.astype(np.uint8)
            if a.ndim != 2:
                raise ValueError(f"frames[{f}][{key!r}]: expected a 2D array, got shape {a.shape}")
            if arrays[key] and a.shape != arrays[key][0].shape:
                raise ValueError(
                    f"frames[{f}][{key!r}]: shape {a.shape} differs from frame 0 "
                    f"{arrays[key][0].shape}"
                )
            arrays[key].append(a)
    return keys, arrays


def _check_titles(titles: Sequence[str] | None, n: int) -> list[str]:
    if titles is None:
        return [str(i) for i in range(n)]
    titles = [str(t) for t in titles]
    if len(titles) != n:
        raise ValueError(f"titles: got {len(titles)} titles for {n} frames")
    return titles


def orthogonal_figure(
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
    win = check_window(window, vol)
    sp = as_spacing(spacing)
    if point is None:
        if lab is not None and (lab > 0).any():
            point = [int(round(c.mean())) for c in np.nonzero(lab > 0)]
        else:
            point = [n // 2 for n in vol.shape]
    point = [int(p) for p in point]
    if len(point) != 3 or any(not 0 <= p < n for p, n in zip(point, vol.shape, strict=False)):
        raise ValueError(f"point {point} is outside the volume of shape {vol.shape}")
    k = n_classes([lab], names) if lab is not None else 1
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[f"axis {a} = {point[a]}" for a in range(3)],
        horizontal_spacing=0.04,
    )
    for a in range(3):
        img = np.take(vol, point[a], axis=a)
        s = stride_for(img.shape, max_size)
        rows, cols = plane_spacing(sp, a)
        la = None if lab is None else np.take(lab, point[a], axis=a)[::s, ::s]
        for tr in _heatmaps(
            to_uint8(img[::s, ::s], win), la, k, names, (rows * s, cols * s), opacity, True, win
        ):
            fig.add_trace(tr, row=1, col=a + 1)
    if lab is not None:
        for tr in _legend_traces(k, names):
            fig.add_trace(tr, row=1, col=1)
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 20, "t": 40, "b": 20},
        plot_bgcolor="black",
        legend=BOTTOM_LEGEND,
    )
    _image_axes(fig, 3)
    return fig

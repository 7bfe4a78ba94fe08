"""Step through a sequence of 2D frames (e.g. EM iterations): the checks and the plotly figure.

:func:`frame_panels` checks the frames and fixes what every viewer of them needs (label
panels, the class count, one value range per float panel over all frames);
:func:`frames_figure` draws them for the static book, :class:`~.widgets.FrameStepper` live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._arrays import as_spacing, n_classes, stride_for, to_numpy, to_uint8
from ._plotly import BOTTOM_LEGEND, LabelStyle, image_axes, label_heatmap, legend_traces, slider
from .colors import normalize_names


@dataclass(frozen=True)
class FramePanels:
    """Checked frames: panel names, arrays per panel, label panels, classes, float ranges."""

    keys: list[str]
    arrays: dict[str, list[np.ndarray]]
    int_keys: set[str]
    k: int
    ranges: dict[str, tuple[float, float]]


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
            arrays[key].append(_check_frame_array(frame[key], f"frames[{f}][{key!r}]", arrays[key]))
    return keys, arrays


def _check_frame_array(value: Any, name: str, earlier: list[np.ndarray]) -> np.ndarray:
    a = to_numpy(value, name)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2D array, got shape {a.shape}")
    if earlier and a.shape != earlier[0].shape:
        raise ValueError(f"{name}: shape {a.shape} differs from frame 0 {earlier[0].shape}")
    return a


def _check_titles(titles: Sequence[str] | None, n: int) -> list[str]:
    if titles is None:
        return [str(i) for i in range(n)]
    titles = [str(t) for t in titles]
    if len(titles) != n:
        raise ValueError(f"titles: got {len(titles)} titles for {n} frames")
    return titles


def frame_panels(
    frames: Sequence[Mapping[str, Any]], names: Mapping[int, str] | None
) -> FramePanels:
    """Check the frames; integer panels are label maps, float panels get one range each."""
    keys, arrays = _check_frames(frames)
    int_keys = {key for key in keys if np.issubdtype(arrays[key][0].dtype, np.integer)}
    k = n_classes([a for key in int_keys for a in arrays[key]], names) if int_keys else 1
    ranges = {}
    for key in keys:
        if key not in int_keys:
            stack = np.stack([np.asarray(a, dtype=np.float32) for a in arrays[key]])
            lo, hi = float(np.nanmin(stack)), float(np.nanmax(stack))
            ranges[key] = (lo, hi if hi > lo else lo + 1.0)
    return FramePanels(keys, arrays, int_keys, k, ranges)


def _frame_trace(
    a: np.ndarray, value_range: tuple[float, float] | None, style: LabelStyle, colorscale: str
) -> go.Heatmap:
    """A label panel (``value_range`` None) or a float panel in 8-bit levels of its range."""
    if value_range is None:
        return label_heatmap(a.astype(np.uint8), style)
    lo, hi = value_range
    return go.Heatmap(
        z=to_uint8(np.asarray(a, dtype=np.float32), (lo, hi)),
        colorscale=colorscale,
        zmin=0,
        zmax=255,
        showscale=False,
        hovertemplate=(f"value ≈ %{{z}}·{(hi - lo) / 255:.3g}+{lo:.3g}<extra></extra>"),
    )


def frames_figure(  # noqa: PLR0913 - a figure builder: keyword-only display options
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
    names = normalize_names(label_names)
    panels = frame_panels(frames, names)
    titles = _check_titles(titles, len(frames))
    sp = as_spacing(spacing)[1:]
    style = LabelStyle(panels.k, names)
    keys = panels.keys
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=keys, horizontal_spacing=0.04)
    owners = []
    for f in range(len(frames)):
        for c, key in enumerate(panels.keys, start=1):
            a = panels.arrays[key][f]
            s = stride_for(a.shape, max_size)
            trace = _frame_trace(a[::s, ::s], panels.ranges.get(key), style, colorscale)
            trace.update(x0=0.0, dx=sp[1] * s, y0=0.0, dy=sp[0] * s, visible=f == 0)
            fig.add_trace(trace, row=1, col=c)
            owners.append(f)
    legend = legend_traces(style) if panels.int_keys else []
    for trace in legend:
        fig.add_trace(trace, row=1, col=1)
    fig.update_layout(
        sliders=[slider(titles, owners, len(legend), 0, "")],
        height=height,
        margin={"l": 40, "r": 20, "t": 40, "b": 20},
        plot_bgcolor="black",
        legend=BOTTOM_LEGEND,
    )
    image_axes(fig, len(panels.keys))
    return fig

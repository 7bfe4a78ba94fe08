"""Matplotlib helpers: an image with its label overlay, a montage of slices, a colour key."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._arrays import (
    as_labels,
    as_spacing,
    as_volume,
    check_axis,
    check_window,
    n_classes,
    pick_slices,
    plane_spacing,
    to_numpy,
)
from .colors import label_lut, legend_entries, normalize_names


def label_rgba(
    labels: np.ndarray, k: int, names: Mapping[int, str] | None = None, alpha: float = 0.45
) -> np.ndarray:
    """RGBA image ``(H, W, 4)`` of a 2D label map; background is fully transparent."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    lut = label_lut(k, names)
    rgba = lut[labels.astype(np.intp)]
    rgba[..., 3] *= alpha
    return rgba


def overlay(  # noqa: PLR0913 - a drawing helper: keyword-only display options
    ax: Axes,
    image: Any,
    labels: Any | None = None,
    alpha: float = 0.45,
    *,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    window: Sequence[float] | None = None,
    aspect: float = 1.0,
    k: int | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a 2D image in grey with its labels as a semi-transparent colour overlay.

    Args:
        ax: Matplotlib axes to draw into.
        image: 2D image ``(H, W)``.
        labels: Optional 2D label map ``(H, W)`` of class indices, 0 = background.
        alpha: Overlay opacity in [0, 1].
        label_names: Class names (sequence by index or ``{index: name}``); they fix the colours.
        window: Display window ``(low, high)`` in image units; robust percentiles by default.
        aspect: Row spacing / column spacing, so that pixels have their physical shape.
        k: Number of classes for the colour table (defaults to ``labels.max() + 1``).
        title: Axes title.

    Returns:
        ``ax``.
    """
    img = to_numpy(image, "image")
    if img.ndim != 2:
        raise ValueError(f"image: expected a 2D (H, W) array, got shape {img.shape}")
    img = as_volume(img, "image")[0]
    lo, hi = check_window(window, img)
    ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
    if labels is not None:
        lab = as_labels(labels, (1, *img.shape), "labels")[0]
        names = normalize_names(label_names)
        kk = k if k is not None else n_classes([lab], names)
        ax.imshow(label_rgba(lab, kk, names, alpha), aspect=aspect, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def add_legend(
    fig: Figure, k: int, label_names: Mapping[int, str] | Sequence[str] | None = None
) -> None:
    """A colour key of the (non-background) classes along the bottom of ``fig``."""
    entries = legend_entries(k, normalize_names(label_names))
    if entries:
        handles = [Patch(color=c, label=n) for _, n, c in entries]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False)


def montage(  # noqa: PLR0913 - a figure builder: keyword-only display options
    volume: Any,
    labels: Any | None = None,
    *,
    axis: int = 0,
    n: int = 8,
    indices: Sequence[int] | None = None,
    ncols: int = 4,
    spacing: Sequence[float] | None = None,
    label_names: Mapping[int, str] | Sequence[str] | None = None,
    alpha: float = 0.45,
    window: Sequence[float] | None = None,
    size: float = 2.2,
    title: str | None = None,
) -> Figure:
    """A grid of slices with label overlays, all in one shared intensity window.

    Args:
        volume: Image ``(D0, D1, D2)``.
        labels: Optional labels of the same shape.
        axis: Axis to cut slices along.
        n: Number of evenly spaced slices (ignored when ``indices`` is given).
        indices: Explicit slice indices.
        ncols: Columns of the grid.
        spacing: Voxel spacing in mm, in the volume's axis order.
        label_names: Class names (fix the colours and the key).
        alpha: Overlay opacity.
        window: Display window ``(low, high)``.
        size: Inches per panel.
        title: Figure title.

    Returns:
        A matplotlib ``Figure`` (not attached to pyplot, so it is shown once when returned
        from a notebook cell and never leaks into later cells).
    """
    vol = as_volume(volume)
    ax_ = check_axis(axis)
    lab = as_labels(labels, vol.shape) if labels is not None else None
    names = normalize_names(label_names)
    vol_t = np.moveaxis(vol, ax_, 0)
    lab_t = np.moveaxis(lab, ax_, 0) if lab is not None else None
    idx = _montage_indices(vol_t.shape[0], n, indices)
    win = check_window(window, vol)
    rows, cols = plane_spacing(as_spacing(spacing), ax_)
    k = n_classes([lab], names) if lab is not None else 1
    aspect = rows / cols
    fig, axes = _montage_grid(len(idx), ncols, vol_t.shape[1:], aspect, (size, lab is not None))
    for ax, i in zip(axes, idx, strict=False):
        lab_i = None if lab_t is None else lab_t[i]
        style = {"label_names": names, "window": win, "aspect": aspect, "k": k}
        overlay(ax, vol_t[i], lab_i, alpha, title=f"slice {i}", **style)
    if lab is not None:
        add_legend(fig, k, names)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if lab is not None else 0, 1, 1))
    return fig


def _montage_indices(n_slices: int, n: int, indices: Sequence[int] | None) -> np.ndarray:
    """``n`` evenly spaced slices, or the given ``indices`` (checked)."""
    if indices is None:
        return pick_slices(n_slices, n)
    idx = np.asarray(list(indices), dtype=int)
    bad = idx[(idx < 0) | (idx >= n_slices)]
    if bad.size:
        raise ValueError(f"indices {bad.tolist()} out of range 0..{n_slices - 1}")
    return idx


def _montage_grid(
    n_panels: int,
    ncols: int,
    shape: tuple[int, ...],
    aspect: float,
    panel: tuple[float, bool],
) -> tuple[Figure, np.ndarray]:
    """An off-screen figure with a grid of blank axes for ``n_panels`` slices of ``shape``;
    ``panel`` = (inches per panel, room for a colour key)."""
    size, keyed = panel
    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    h, w = shape
    panel_h = size * min(2.5, max(0.4, h * aspect / w))
    fig = Figure(figsize=(size * ncols, panel_h * nrows + (0.6 if keyed else 0.2)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    return fig, axes


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """PNG bytes of a matplotlib figure."""
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def render_png(
    draw: Callable[[Figure], None], figsize: tuple[float, float], dpi: int = 90
) -> bytes:
    """Draw into a fresh off-screen figure and return its PNG bytes (no pyplot state)."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    draw(fig)
    return figure_png(fig, dpi)

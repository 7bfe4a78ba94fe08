"""Live viewers for JupyterLab/Binder: ipywidgets controls over a matplotlib picture.

Each viewer follows one skeleton: build the controls, call ``update`` when one changes,
expose what the reader chose (slice, axis, window, frame) as attributes for later cells.
Displayed, a viewer sends one output holding both the widget and a static PNG: JupyterLab
shows the live widget, the static book (``_config.yml`` ranks PNG first for HTML) shows the
picture, so no page carries a slider that cannot change its image without a kernel.
Use :mod:`zmic_lessons.viz.figures` for scrollers that work in the static book.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ._arrays import (
    as_labels,
    as_spacing,
    as_volume,
    busiest_index,
    check_axis,
    check_window,
    compare_panels,
    n_classes,
    plane_spacing,
    window_of,
)
from ._viewer import _Viewer
from .colors import normalize_names
from .frames import _check_titles, frame_panels
from .plots import add_legend, montage, overlay, render_png
from .subsets import SubsetExplorer

__all__ = ["CompareViewer", "FrameStepper", "SliceViewer", "SubsetExplorer"]

AXIS_OPTIONS = [("axis 0", 0), ("axis 1", 1), ("axis 2", 2)]


def _panel_ratio(shape: tuple[int, ...], rows: float, cols: float) -> float:
    """Height / width of a panel showing a ``shape`` slice with that pixel spacing, clipped."""
    return float(np.clip(shape[0] * rows / (shape[1] * cols), 0.25, 2.5))


def _window_sliders(
    volume: np.ndarray, window: Sequence[float] | None
) -> tuple[widgets.FloatSlider, widgets.FloatSlider]:
    """Level and width sliders over the volume's range, set to ``window`` (robust default)."""
    lo, hi = check_window(window, volume)
    vmin, vmax = float(np.nanmin(volume)), float(np.nanmax(volume))
    vmin, vmax = min(vmin, lo), max(vmax, hi)
    span = max(vmax - vmin, 1e-6)
    level = widgets.FloatSlider(
        min=vmin, max=vmax, step=span / 200, value=(lo + hi) / 2, description="level"
    )
    width = widgets.FloatSlider(
        min=span / 200, max=2 * span, step=span / 200, value=hi - lo, description="width"
    )
    return level, width


class _SliceControls:
    """The slice, axis and opacity controls that the slice viewers share, read as attributes."""

    slice_w: widgets.IntSlider
    axis_w: widgets.ToggleButtons
    opacity_w: widgets.FloatSlider

    @property
    def index(self) -> int:
        """The slice index shown."""
        return int(self.slice_w.value)

    @property
    def axis(self) -> int:
        """The axis slices are cut along."""
        return int(self.axis_w.value)

    @property
    def opacity(self) -> float:
        """Overlay opacity."""
        return float(self.opacity_w.value)


class SliceViewer(_SliceControls, _Viewer):
    """Scroll through a volume with its labels: slice, axis, overlay opacity, window/level.

    Args:
        volume: Image ``(D0, D1, D2)`` (or 2D); torch tensors are accepted.
        labels: Optional class indices of the same shape (0 = background).
        axis: Axis to cut slices along.
        spacing: Voxel spacing in mm, in the volume's axis order.
        label_names: Class names (sequence by index or ``{index: name}``); fix the colours.
        window: Initial display window ``(low, high)``; robust percentiles by default.
        opacity: Initial overlay opacity.
        title: Title over the picture.
        size: Picture size in inches.
        show: Display the viewer at once (set ``False`` in scripts and tests).

    Attributes:
        index, axis, window, opacity: The current choice (read them in later cells).
    """

    def __init__(  # noqa: PLR0913 - a viewer: keyword-only display options
        self,
        volume: Any,
        labels: Any | None = None,
        *,
        axis: int = 0,
        spacing: Sequence[float] | None = None,
        label_names: Mapping[int, str] | Sequence[str] | None = None,
        window: Sequence[float] | None = None,
        opacity: float = 0.45,
        title: str | None = None,
        size: float = 4.5,
        show: bool = True,
    ) -> None:
        super().__init__()
        self.volume = as_volume(volume)
        self.labels = as_labels(labels, self.volume.shape) if labels is not None else None
        self.names = normalize_names(label_names)
        self.spacing = as_spacing(spacing)
        self.title = title
        self.size = size
        self.k = n_classes([self.labels], self.names) if self.labels is not None else 1
        ax = check_axis(axis)

        self.axis_w = widgets.ToggleButtons(options=AXIS_OPTIONS, value=ax, description="axis")
        self.slice_w = widgets.IntSlider(
            min=0, max=self.volume.shape[ax] - 1, value=self._busiest(ax), description="slice"
        )
        self.opacity_w = widgets.FloatSlider(
            min=0.0,
            max=1.0,
            step=0.05,
            value=opacity,
            description="overlay",
            disabled=self.labels is None,
        )
        self.level_w, self.width_w = _window_sliders(self.volume, window)
        self.axis_w.observe(self._on_axis, names="value")
        for w in (self.slice_w, self.opacity_w, self.level_w, self.width_w):
            w.observe(self.update, names="value")
        controls = widgets.VBox([self.axis_w, self.slice_w, self.opacity_w])
        window_box = widgets.VBox([self.level_w, self.width_w])
        self.ui = widgets.VBox([widgets.HBox([controls, window_box]), self._image])
        self._start(show)

    def __repr__(self) -> str:
        return f"SliceViewer(shape={self.volume.shape}, axis={self.axis}, index={self.index})"

    @property
    def window(self) -> tuple[float, float]:
        """Display window ``(low, high) = level -/+ width / 2``."""
        half = self.width_w.value / 2
        return (self.level_w.value - half, self.level_w.value + half)

    def current_slice(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The shown 2D image and labels ``(H, W)`` (labels ``None`` without labels)."""
        img = np.take(self.volume, self.index, axis=self.axis)
        lab = None if self.labels is None else np.take(self.labels, self.index, axis=self.axis)
        return img, lab

    def _busiest(self, axis: int) -> int:
        n = self.volume.shape[axis]
        lab = None if self.labels is None else np.moveaxis(self.labels, axis, 0)
        return busiest_index(lab, np.arange(n))

    def _on_axis(self, change: Mapping[str, Any]) -> None:
        ax = int(change["new"])
        before = self.slice_w.value
        with self.slice_w.hold_trait_notifications():
            self.slice_w.max = self.volume.shape[ax] - 1
            self.slice_w.value = self._busiest(ax)
        if self.slice_w.value == before:  # otherwise the slice observer has redrawn already
            self.update()

    def render(self) -> bytes:
        img, lab = self.current_slice()
        rows, cols = plane_spacing(self.spacing, self.axis)

        def draw(fig: Figure) -> None:
            ax = fig.subplots()
            title = f"axis {self.axis}, slice {self.index}"
            overlay(
                ax,
                img,
                lab,
                self.opacity,
                label_names=self.names,
                window=self.window,
                aspect=rows / cols,
                k=self.k,
                title=f"{self.title}: {title}" if self.title else title,
            )
            if lab is not None:
                add_legend(fig, self.k, self.names)
            fig.tight_layout(rect=(0, 0.08 if lab is not None else 0, 1, 1))

        ratio = _panel_ratio(img.shape, rows, cols)
        extra = 0.9 if lab is not None else 0.5
        return render_png(draw, (self.size, self.size * ratio + extra), self.dpi)

    def static_png(self) -> bytes:
        """A montage of slices along the current axis (what the static book shows)."""
        from .plots import figure_png

        fig = montage(
            self.volume,
            self.labels,
            axis=self.axis,
            n=8,
            spacing=self.spacing,
            label_names=self.names,
            alpha=self.opacity,
            window=self.window,
            title=self.title,
        )
        return figure_png(fig, self.dpi)


class CompareViewer(_SliceControls, _Viewer):
    """Images, predictions and ground truth side by side, one slice slider for all.

    Panels follow :func:`zmic_lessons.viz.compare_figure`: the keys of ``images``, then the
    keys of ``labels`` that are not image names (overlaid on the first image).

    Args:
        images: ``{name: volume}`` of one shape ``(D0, D1, D2)``.
        labels: ``{name: label volume}``.
        axis: Axis to cut slices along.
        spacing: Voxel spacing in mm.
        label_names: Class names (fix the colours).
        opacity: Initial overlay opacity.
        size: Inches per panel.
        show: Display at once.

    Attributes:
        index, axis, opacity: The current choice.
    """

    def __init__(
        self,
        images: Mapping[str, Any],
        labels: Mapping[str, Any] | None = None,
        *,
        axis: int = 0,
        spacing: Sequence[float] | None = None,
        label_names: Mapping[int, str] | Sequence[str] | None = None,
        opacity: float = 0.45,
        size: float = 3.2,
        show: bool = True,
    ) -> None:
        super().__init__()
        self.panels = compare_panels(images, labels)
        self.shape = self.panels[0][1].shape
        self.names = normalize_names(label_names)
        self.spacing = as_spacing(spacing)
        self.size = size
        labs = [p[2] for p in self.panels if p[2] is not None]
        self.k = n_classes(labs, self.names) if labs else 1
        self.windows = {p[3]: window_of(p[1]) for p in self.panels}
        ax = check_axis(axis)
        self.axis_w = widgets.ToggleButtons(options=AXIS_OPTIONS, value=ax, description="axis")
        self.slice_w = widgets.IntSlider(
            min=0, max=self.shape[ax] - 1, value=self._busiest(ax), description="slice"
        )
        self.opacity_w = widgets.FloatSlider(
            min=0.0, max=1.0, step=0.05, value=opacity, description="overlay", disabled=not labs
        )
        self.axis_w.observe(self._on_axis, names="value")
        self.slice_w.observe(self.update, names="value")
        self.opacity_w.observe(self.update, names="value")
        self.ui = widgets.VBox(
            [widgets.HBox([self.axis_w]), widgets.HBox([self.slice_w, self.opacity_w]), self._image]
        )
        self._start(show)

    def __repr__(self) -> str:
        names = [p[0] for p in self.panels]
        return f"CompareViewer(panels={names}, axis={self.axis}, index={self.index})"

    def current_slices(self) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """``{panel name: (image, labels or None)}`` of the shown slice."""
        out = {}
        for name, vol, lab, _ in self.panels:
            img = np.take(vol, self.index, axis=self.axis)
            out[name] = (img, None if lab is None else np.take(lab, self.index, axis=self.axis))
        return out

    def _busiest(self, axis: int) -> int:
        lab = next((p[2] for p in self.panels if p[2] is not None), None)
        n = self.shape[axis]
        return busiest_index(None if lab is None else np.moveaxis(lab, axis, 0), np.arange(n))

    def _on_axis(self, change: Mapping[str, Any]) -> None:
        ax = int(change["new"])
        before = self.slice_w.value
        with self.slice_w.hold_trait_notifications():
            self.slice_w.max = self.shape[ax] - 1
            self.slice_w.value = self._busiest(ax)
        if self.slice_w.value == before:  # otherwise the slice observer has redrawn already
            self.update()

    def render(self) -> bytes:
        slices = self.current_slices()
        rows, cols = plane_spacing(self.spacing, self.axis)
        n = len(slices)
        has_labels = any(lab is not None for _, lab in slices.values())

        def draw(fig: Figure) -> None:
            axes = fig.subplots(1, n, squeeze=False)[0]
            for ax, (name, (img, lab)), panel in zip(
                axes, slices.items(), self.panels, strict=True
            ):
                overlay(
                    ax,
                    img,
                    lab,
                    self.opacity,
                    label_names=self.names,
                    window=self.windows[panel[3]],
                    aspect=rows / cols,
                    k=self.k,
                    title=name,
                )
            if has_labels:
                add_legend(fig, self.k, self.names)
            fig.suptitle(f"axis {self.axis}, slice {self.index}", fontsize=10)
            fig.tight_layout(rect=(0, 0.1 if has_labels else 0, 1, 1))

        img0 = next(iter(slices.values()))[0]
        ratio = _panel_ratio(img0.shape, rows, cols)
        extra = 1.0 if has_labels else 0.6
        return render_png(draw, (self.size * n, self.size * ratio + extra), self.dpi)

    def static_png(self) -> bytes:
        """The panels at the current slice (what the static book shows)."""
        return self.render()


class FrameStepper(_Viewer):
    """Step (or play) through a sequence of 2D frames, e.g. the iterations of an EM fit.

    Args:
        frames: One ``{panel name: 2D array}`` per step (same panels in every frame).
            Integer arrays are drawn as label maps, float arrays in grey with one fixed
            range per panel over all frames.
        titles: One title per frame (default ``"step 0"``, ...).
        label_names: Class names for integer panels.
        cmap: Matplotlib colour map for float panels.
        size: Inches per panel.
        show: Display at once.

    Attributes:
        frame: Index of the frame shown.
    """

    def __init__(
        self,
        frames: Sequence[Mapping[str, Any]],
        titles: Sequence[str] | None = None,
        *,
        label_names: Mapping[int, str] | Sequence[str] | None = None,
        cmap: str = "gray",
        size: float = 3.0,
        show: bool = True,
    ) -> None:
        super().__init__()
        self.names = normalize_names(label_names)
        panels = frame_panels(frames, self.names)
        self.keys, self.arrays, self.int_keys = panels.keys, panels.arrays, panels.int_keys
        self.k, self.ranges = panels.k, panels.ranges
        self.titles = _check_titles(
            titles if titles is not None else [f"step {i}" for i in range(len(frames))],
            len(frames),
        )
        self.cmap = cmap
        self.size = size
        n = len(self.titles)
        self.play_w = widgets.Play(min=0, max=n - 1, value=0, interval=600, description="play")
        self.frame_w = widgets.IntSlider(min=0, max=n - 1, value=0, description="step")
        widgets.jslink((self.play_w, "value"), (self.frame_w, "value"))
        self.frame_w.observe(self.update, names="value")
        self.ui = widgets.VBox([widgets.HBox([self.play_w, self.frame_w]), self._image])
        self._start(show)

    def __repr__(self) -> str:
        return f"FrameStepper(frames={len(self.titles)}, panels={self.keys}, frame={self.frame})"

    @property
    def frame(self) -> int:
        """Index of the frame shown."""
        return int(self.frame_w.value)

    def current(self) -> dict[str, np.ndarray]:
        """``{panel name: 2D array}`` of the frame shown."""
        return {key: self.arrays[key][self.frame] for key in self.keys}

    def _draw_row(self, axes: Sequence[Any], f: int) -> None:
        for ax, key in zip(axes, self.keys, strict=True):
            a = self.arrays[key][f]
            if key in self.int_keys:
                zero = np.zeros(a.shape, dtype=np.float32)
                overlay(ax, zero, a, 1.0, label_names=self.names, window=(0, 1), k=self.k)
            else:
                lo, hi = self.ranges[key]
                ax.imshow(a, cmap=self.cmap, vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_title(f"{key} ({self.titles[f]})", fontsize=9)

    def _figure(self, frames: Sequence[int]) -> bytes:
        n = len(self.keys)

        def draw(fig: Figure) -> None:
            axes = fig.subplots(len(frames), n, squeeze=False)
            for row, f in zip(axes, frames, strict=True):
                self._draw_row(row, f)
            if self.int_keys:
                add_legend(fig, self.k, self.names)
            fig.tight_layout(rect=(0, 0.08 if self.int_keys else 0, 1, 1))

        height = (self.size + 0.4) * len(frames) + (0.5 if self.int_keys else 0)
        return render_png(draw, (self.size * n, height), self.dpi)

    def render(self) -> bytes:
        return self._figure([self.frame])

    def static_png(self) -> bytes:
        """The first and the last frame (what the static book shows)."""
        last = len(self.titles) - 1
        return self._figure([0, last] if last > 0 else [0])

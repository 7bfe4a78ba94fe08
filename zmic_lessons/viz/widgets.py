"""Live viewers for JupyterLab/Binder: ipywidgets controls over a matplotlib picture.

Each viewer follows one skeleton: build the controls, call ``update`` when one changes,
expose what the reader chose (slice, axis, window, frame) as attributes for later cells.
Displayed, a viewer sends one output holding both the widget and a static PNG: JupyterLab
shows the live widget, the static book (``_config.yml`` ranks PNG first for HTML) shows the
picture, so no page carries a slider that cannot change its image without a kernel.
Use :mod:`zmic_lessons.viz.figures` for scrollers that work in the static book.
"""

from __future__ import annotations

import base64
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
from .colors import normalize_names
from .figures import _check_frames, _check_titles
from .plots import add_legend, montage, overlay, render_png

AXIS_OPTIONS = [("axis 0", 0), ("axis 1", 1), ("axis 2", 2)]


def _panel_ratio(shape: tuple[int, ...], rows: float, cols: float) -> float:
    """Height / width of a panel showing a ``shape`` slice with that pixel spacing, clipped."""
    return float(np.clip(shape[0] * rows / (shape[1] * cols), 0.25, 2.5))


class _Viewer:
    """Shared plumbing: a PNG image widget under some controls, and the display bundle."""

    dpi = 80

    def __init__(self) -> None:
        self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.ui: widgets.Widget = widgets.VBox()
        self.n_updates = 0

    def render(self) -> bytes:  # pragma: no cover - every viewer overrides it
        raise NotImplementedError

    def static_png(self) -> bytes:  # pragma: no cover - every viewer overrides it
        raise NotImplementedError

    def update(self, change: Mapping[str, Any] | None = None) -> None:
        """Redraw the picture (the handler every control calls)."""
        self._image.value = self.render()
        self.n_updates += 1

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.ui._repr_mimebundle_())
        bundle["image/png"] = base64.b64encode(self.static_png()).decode("ascii")
        bundle["text/plain"] = repr(self)
        return bundle

    def display(self) -> None:
        """Show the viewer (done once by the constructor unless ``show=False``)."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)


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

    def __init__(
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
        lo, hi = check_window(window, self.volume)
        vmin, vmax = float(np.nanmin(self.volume)), float(np.nanmax(self.volume))
        vmin, vmax = min(vmin, lo), max(vmax, hi)
        span = max(vmax - vmin, 1e-6)
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
        self.level_w = widgets.FloatSlider(
            min=vmin, max=vmax, step=span / 200, value=(lo + hi) / 2, description="level"
        )
        self.width_w = widgets.FloatSlider(
            min=span / 200, max=2 * span, step=span / 200, value=hi - lo, description="width"
        )
        self.axis_w.observe(self._on_axis, names="value")
        for w in (self.slice_w, self.opacity_w, self.level_w, self.width_w):
            w.observe(self.update, names="value")
        controls = widgets.VBox([self.axis_w, self.slice_w, self.opacity_w])
        window_box = widgets.VBox([self.level_w, self.width_w])
        self.ui = widgets.VBox([widgets.HBox([controls, window_box]), self._image])
        self.update()
        if show:
            self.display()

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
        self.update()
        if show:
            self.display()

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
        self.keys, self.arrays = _check_frames(frames)
        self.titles = _check_titles(
            titles if titles is not None else [f"step {i}" for i in range(len(frames))],
            len(frames),
        )
        self.names = normalize_names(label_names)
        self.cmap = cmap
        self.size = size
        self.int_keys = {k for k in self.keys if np.issubdtype(self.arrays[k][0].dtype, np.integer)}
        labs = [a for k in self.int_keys for a in self.arrays[k]]
        self.k = n_classes(labs, self.names) if labs else 1
        self.ranges = {}
        for key in self.keys:
            if key not in self.int_keys:
                stack = np.stack([np.asarray(a, dtype=np.float32) for a in self.arrays[key]])
                lo, hi = float(np.nanmin(stack)), float(np.nanmax(stack))
                self.ranges[key] = (lo, hi if hi > lo else lo + 1.0)
        n = len(self.titles)
        self.play_w = widgets.Play(min=0, max=n - 1, value=0, interval=600, description="play")
        self.frame_w = widgets.IntSlider(min=0, max=n - 1, value=0, description="step")
        widgets.jslink((self.play_w, "value"), (self.frame_w, "value"))
        self.frame_w.observe(self.update, names="value")
        self.ui = widgets.VBox([widgets.HBox([self.play_w, self.frame_w]), self._image])
        self.update()
        if show:
            self.display()

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


class SubsetExplorer(_Viewer):
    """Switch inputs on and off, score the chosen subset, and compare it with the others.

    For example the sequences fed to a multi-sequence model: tick some, press *score*, and the
    bar chart gains (and highlights) that subset's score. Scores are cached per subset.

    Args:
        names: The inputs that can be switched (e.g. ``("bssfp", "t2", "lge")``).
        score: ``score(subset) -> float`` for a non-empty tuple of names (in ``names`` order).
        known: Scores already computed, ``{subset tuple: score}`` (shown at once).
        metric: Axis label of the chart.
        size: Picture width in inches.
        show: Display at once.

    Attributes:
        scores: ``{subset: score}`` computed so far. chosen: The subset of the last scoring.
    """

    def __init__(
        self,
        names: Sequence[str],
        score: Any,
        *,
        known: Mapping[tuple[str, ...], float] | None = None,
        metric: str = "score",
        size: float = 6.5,
        show: bool = True,
    ) -> None:
        super().__init__()
        if not names:
            raise ValueError("SubsetExplorer needs at least one name")
        self.names = tuple(names)
        self.score_fn = score
        self.metric = metric
        self.size = size
        self.scores: dict[tuple[str, ...], float] = {}
        for subset, value in (known or {}).items():
            self.scores[self._ordered(subset)] = float(value)
        self.chosen: tuple[str, ...] | None = None
        self.boxes = [widgets.Checkbox(value=True, description=n, indent=False) for n in names]
        self.button = widgets.Button(description="score")
        self.message = widgets.Label()
        self.button.on_click(self.update)
        self.ui = widgets.VBox(
            [widgets.HBox([*self.boxes, self.button]), self.message, self._image]
        )
        self._image.value = self.render()
        if show:
            self.display()

    def __repr__(self) -> str:
        return f"SubsetExplorer(names={self.names}, scored={len(self.scores)})"

    def _ordered(self, subset: Sequence[str]) -> tuple[str, ...]:
        unknown = sorted(set(subset) - set(self.names))
        if unknown:
            raise ValueError(f"unknown name(s) {unknown}; choose from {self.names}")
        return tuple(n for n in self.names if n in subset)

    def choose(self, subset: Sequence[str]) -> float:
        """Score ``subset`` (cached) and highlight it; the programmatic twin of the button."""
        key = self._ordered(subset)
        if not key:
            raise ValueError("choose at least one input")
        if key not in self.scores:
            self.scores[key] = float(self.score_fn(key))
        self.chosen = key
        self._image.value = self.render()
        self.n_updates += 1
        return self.scores[key]

    def update(self, change: Any = None) -> None:
        """Score the ticked subset (the button's handler)."""
        subset = [b.description for b in self.boxes if b.value]
        if not subset:
            self.message.value = "tick at least one input"
            return
        value = self.choose(subset)
        self.message.value = f"{' + '.join(self.chosen or ())}: {self.metric} {value:.3f}"

    def _draw(self, fig: Figure) -> None:
        ax = fig.add_subplot(1, 1, 1)
        items = sorted(self.scores.items(), key=lambda kv: (len(kv[0]), kv[1]))
        labels = [" + ".join(k) for k, _ in items]
        colors = ["tab:red" if k == self.chosen else "tab:blue" for k, _ in items]
        ax.barh(range(len(items)), [v for _, v in items], color=colors)
        ax.set_yticks(range(len(items)), labels)
        for i, (_, v) in enumerate(items):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax.set_xlabel(self.metric)
        ax.set_xlim(0, max([1.0, *[v * 1.15 for _, v in items]]))
        fig.tight_layout()

    def render(self) -> bytes:
        return render_png(self._draw, (self.size, 0.45 * max(len(self.scores), 2) + 1.2))

    def static_png(self) -> bytes:
        return self.render()

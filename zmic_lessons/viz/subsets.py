"""A live chooser of input subsets (e.g. the sequences fed to a model) with their scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from ._viewer import _Viewer
from .plots import render_png


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

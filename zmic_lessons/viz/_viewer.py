"""What every live viewer shares: a PNG image widget under its controls, and the display bundle.

Displayed, a viewer sends one output holding both the widget and a static PNG: JupyterLab
shows the live widget, the static book shows the picture.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets


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

    def _start(self, show: bool) -> None:
        """Draw the first picture; display the viewer unless ``show`` is False."""
        self.update()
        if show:
            self.display()

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

"""Plotly building blocks of the figures: display, heatmap traces, colour key, axes, slider.

Every slice is one trace and the slider toggles ``visible``, so the page needs no kernel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from .colors import label_colorscale, legend_entries

DEFAULT_HEIGHT = 460
#: Colour key under multi-panel figures, between the tick labels and the slider.
BOTTOM_LEGEND = {"orientation": "h", "y": -0.1, "yanchor": "top", "x": 0}


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


@dataclass(frozen=True)
class LabelStyle:
    """How label maps are drawn: ``k`` classes, their names (colours) and the overlay opacity."""

    k: int
    names: Mapping[int, str] | None
    opacity: float = 0.45


def legend_traces(style: LabelStyle, **kw: Any) -> list[go.Scatter]:
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
        for _, name, color in legend_entries(style.k, style.names)
    ]


def label_heatmap(lab: np.ndarray, style: LabelStyle, **kw: Any) -> go.Heatmap:
    """A label map in the class colours (``kw``: geometry, opacity, visibility)."""
    return go.Heatmap(
        z=lab,
        colorscale=label_colorscale(style.k, style.names),
        zmin=-0.5,
        zmax=style.k - 0.5,
        showscale=False,
        hovertemplate="class %{z}<extra></extra>",
        **kw,
    )


def grey_heatmap(img8: np.ndarray, value_range: tuple[float, float], **kw: Any) -> go.Heatmap:
    """An 8-bit image of ``value_range`` whose hover text gives the value in image units."""
    lo, hi = value_range
    scale = (hi - lo) / 255.0
    return go.Heatmap(
        z=img8,
        zmin=0,
        zmax=255,
        showscale=False,
        hovertemplate=(
            f"x %{{x:.1f}} mm, y %{{y:.1f}} mm<br>value ≈ %{{z}}·{scale:.3g}+{lo:.3g}"
            "<extra></extra>"
        ),
        **kw,
    )


def heatmaps(
    img8: np.ndarray,
    lab: np.ndarray | None,
    style: LabelStyle,
    step: tuple[float, float],
    value_range: tuple[float, float],
    visible: bool,
) -> list[go.Heatmap]:
    """The image trace (and the label trace) of one slice, in mm coordinates."""
    dy, dx = step
    geo = {"x0": 0.0, "dx": dx, "y0": 0.0, "dy": dy}
    traces = [grey_heatmap(img8, value_range, colorscale="gray", visible=visible, **geo)]
    if lab is not None:
        traces.append(label_heatmap(lab, style, opacity=style.opacity, visible=visible, **geo))
    return traces


def image_axes(fig: go.Figure, n_panels: int) -> None:
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


def slider(
    labels: Sequence[str], owners: Sequence[int], n_always: int, active: int, prefix: str
) -> dict:
    """A slider whose step ``j`` shows the traces owned by position ``j`` (``owners``: one
    position per stepped trace) and the ``n_always`` traces after them (the colour key)."""
    steps = [
        {
            "method": "restyle",
            "args": [{"visible": [o == j for o in owners] + [True] * n_always}],
            "label": lab,
        }
        for j, lab in enumerate(labels)
    ]
    return {
        "active": active,
        "currentvalue": {"prefix": prefix},
        "pad": {"t": 60},
        "steps": steps,
    }

"""Two plotly figures with a slider over latent dimensions (they work in the static book).

The chapter-specific plots of characteristic functions and latent histograms; images and label
maps are drawn with :mod:`zmic_lessons.viz`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["cf_figure", "latent_figure"]

_COLOURS = {"source": "#1f77b4", "target": "#d62728"}
_DASH = ("dot", "solid")


def _slider(n_steps: int, per_step: int, prefix: str) -> dict:
    steps = []
    for i in range(n_steps):
        visible = [j // per_step == i for j in range(n_steps * per_step)]
        steps.append({"method": "update", "args": [{"visible": visible}], "label": str(i)})
    return {"active": 0, "currentvalue": {"prefix": prefix}, "steps": steps, "pad": {"t": 40}}


def cf_figure(curves: Mapping[str, Sequence[Mapping[str, np.ndarray]]]) -> go.Figure:
    """Per latent dimension: :math:`|\\varphi_S(t) - \\varphi_T(t)|^2` and the distance as the
    band :math:`[-T, T]` grows, for each model (e.g. "no alignment" and "CFDNet").

    Args:
        curves: Model name -> one :func:`.lessons.cf_curves` dict per latent dimension.
    """
    names = list(curves)
    n_dim = len(curves[names[0]])
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "|φ_S(t) − φ_T(t)|² (the integrand)", "CF distance with band limit T"))  # fmt: skip
    for d in range(n_dim):
        for i, name in enumerate(names):
            c = curves[name][d]
            dash = _DASH[i % 2]
            fig.add_trace(go.Scatter(x=c["t"], y=c["gap"], name=name, visible=d == 0,
                                     line={"dash": dash}, legendgroup=name), 1, 1)  # fmt: skip
            fig.add_trace(go.Scatter(x=c["t"], y=c["distance"], name=name, visible=d == 0,
                                     line={"dash": dash}, legendgroup=name, showlegend=False),
                          1, 2)  # fmt: skip
    fig.update_layout(sliders=[_slider(n_dim, 2 * len(names), "latent dimension: ")],
                      height=420, margin={"t": 60, "b": 20})  # fmt: skip
    fig.update_xaxes(title_text="frequency t", row=1, col=1)
    fig.update_xaxes(title_text="band limit T", row=1, col=2)
    return fig


def latent_figure(
    histograms: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> go.Figure:
    """Per latent dimension: source and target densities, one panel per model.

    Args:
        histograms: Model name -> :func:`.lessons.latent_histograms` output
            ``(centres (C, B), source (C, B), target (C, B))``.
    """
    names = list(histograms)
    n_dim = histograms[names[0]][0].shape[0]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for d in range(n_dim):
        for col, name in enumerate(names, start=1):
            centres, hs, ht = histograms[name]
            for domain, h in (("source", hs), ("target", ht)):
                fig.add_trace(go.Scatter(
                    x=centres[d], y=h[d], name=domain, visible=d == 0, mode="lines",
                    line={"color": _COLOURS[domain], "shape": "hvh"}, legendgroup=domain,
                    showlegend=col == 1), 1, col)  # fmt: skip
    fig.update_layout(sliders=[_slider(n_dim, 2 * len(names), "latent dimension: ")],
                      height=400, margin={"t": 60, "b": 20})  # fmt: skip
    fig.update_xaxes(title_text="latent value (posterior mean, pooled)")
    fig.update_yaxes(title_text="density", col=1)
    return fig

"""Viewers for the course: plotly scrollers for the static book, widgets for JupyterLab.

=====================  ======================================================  ===============
what                   function / class                                         static book
=====================  ======================================================  ===============
slice scroller         :func:`slice_figure` + :func:`show`                      interactive
side-by-side compare   :func:`compare_figure` + :func:`show`                    interactive
step through frames    :func:`frames_figure` + :func:`show`                     interactive
orthogonal planes      :func:`orthogonal_figure` + :func:`show`                 interactive
live slice viewer      :class:`SliceViewer` (ipywidgets + matplotlib)           static picture
live comparison        :class:`CompareViewer`                                   static picture
live frame stepper     :class:`FrameStepper`                                    static picture
input subsets          :class:`SubsetExplorer` (score chosen inputs)             static picture
3D / multiplanar       :func:`view3d` (ipyniivue, plotly fallback)              renders (WebGL)
package source         :func:`show_source` (code beside its equation)           rendered
matplotlib             :func:`overlay`, :func:`montage`, :func:`label_lut`      static picture
=====================  ======================================================  ===============

Arrays are ``(D0, D1, D2)`` numpy arrays or torch tensors; labels are class indices
``0..K-1`` (0 = background) and ``label_names`` fixes each class's colour by name
(:data:`CLASS_COLORS`), so the myocardium is the same green on every page.
"""

from __future__ import annotations

from .colors import CLASS_COLORS, class_color, label_colorscale, label_lut, normalize_names
from .figures import compare_figure, frames_figure, orthogonal_figure, show, slice_figure
from .plots import figure_png, montage, overlay
from .sample import SAMPLE_LABELS, SAMPLE_SPACING, sample_volume
from .source import show_source, source_markdown
from .view3d import nifti_bytes, view3d
from .widgets import CompareViewer, FrameStepper, SliceViewer, SubsetExplorer

__all__ = [
    "CLASS_COLORS",
    "SAMPLE_LABELS",
    "SAMPLE_SPACING",
    "CompareViewer",
    "FrameStepper",
    "SliceViewer",
    "SubsetExplorer",
    "class_color",
    "compare_figure",
    "figure_png",
    "frames_figure",
    "label_colorscale",
    "label_lut",
    "montage",
    "nifti_bytes",
    "normalize_names",
    "orthogonal_figure",
    "overlay",
    "sample_volume",
    "show",
    "show_source",
    "slice_figure",
    "source_markdown",
    "view3d",
]


def _register_figure_formatter() -> None:
    """Let a bare matplotlib ``Figure`` returned from a cell display as PNG.

    The helpers here build figures without pyplot (so they are shown once and never leak
    into later cells); IPython only knows how to show those once the inline backend has been
    loaded, which may not have happened yet.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    png = ip.display_formatter.formatters.get("image/png")
    if png is None:
        return
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, figure_png)


_register_figure_formatter()

"""Notebook helpers: one step of each method taken apart, and arrays/tables for the figures.

No training loop and no viewer here (viewers live in :mod:`zmic_lessons.viz`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..data.atrial import LA_BLOOD, LA_SCAR, project_scar_to_surface, simulate_atrium
from .evaluation import mean_over
from .experiment import Volume
from .harmonise import histogram_match, zscore
from .settings import Settings

__all__ = [
    "SURFACE_CLASSES",
    "centre_gallery",
    "histograms",
    "hm_step",
    "label_map",
    "markdown_table",
    "scheme_table",
    "surface_classes",
]

#: Surface voxel classes of :func:`surface_classes`: 0 off the surface.
SURFACE_CLASSES = {
    1: "wall (TN)",
    2: "scar found (TP)",
    3: "scar missed (FN)",
    4: "false scar (FP)",
}


def centre_gallery(
    seed: int, settings: Settings, centres: Sequence[str] = ("A", "B", "C", "D")
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The same patient scanned in every centre, on the chapter's grid.

    Returns:
        Centre -> ``(image (Z, Y, X), labels (Z, Y, X))``; the anatomy is the same, the
        acquisition (and the placement of the field of view) is the centre's.
    """
    out = {}
    for c in centres:
        case = simulate_atrium(
            seed, shape=settings.grid_shape, spacing_mm=settings.grid_spacing_mm, centre=c
        )
        out[c] = (case.image, case.labels)
    return out


def histograms(images: Mapping[str, np.ndarray], bins: np.ndarray) -> dict[str, np.ndarray]:
    """Normalised histograms (density) of each image on shared ``bins`` (edges)."""
    return {k: np.histogram(v, bins=bins, density=True)[0] for k, v in images.items()}


def hm_step(volume: Volume, reference: np.ndarray) -> dict[str, np.ndarray]:
    """Histogram matching taken apart: the acquired image, z-scored, then matched.

    Returns:
        ``{"acquired", "z-scored", "matched"}`` volumes ``(Z, Y, X)``.
    """
    z = zscore(volume.image)
    return {"acquired": volume.image, "z-scored": z, "matched": histogram_match(z, reference)}


def surface_classes(
    pred_scar: np.ndarray, volume: Volume, radius_mm: float | None = None
) -> np.ndarray:
    """Each GT-surface voxel's outcome after projecting both scars (LAScarQS), as codes.

    Returns:
        ``uint8 (Z, Y, X)``: codes of :data:`SURFACE_CLASSES` on the GT LA surface, 0 elsewhere.
    """
    surface, truth = project_scar_to_surface(volume.la, volume.scar, volume.spacing, radius_mm)
    _, pred = project_scar_to_surface(volume.la, pred_scar, volume.spacing, radius_mm)
    out = np.zeros(surface.shape, dtype=np.uint8)
    out[surface] = 1
    out[surface & truth & pred] = 2
    out[surface & truth & ~pred] = 3
    out[surface & ~truth & pred] = 4
    return out


def label_map(volume: Volume) -> np.ndarray:
    """``uint8`` map with the package codes (1 cavity, 3 scar) of a :class:`Volume`."""
    out = np.zeros(volume.la.shape, dtype=np.uint8)
    out[volume.la] = LA_BLOOD
    out[volume.scar] = LA_SCAR
    return out


def scheme_table(
    scores: Mapping[str, Mapping[str, Sequence[Mapping[str, float]]]],
    keys: Sequence[str],
    metric: str = "dice",
) -> dict[str, dict[str, float]]:
    """Mean of one metric per model and centre.

    Args:
        scores: ``Artifacts.scores`` (model -> centre -> per-volume dicts).
        keys: The models to tabulate, e.g. ``["unet/none", "unet/hm", "unet/aug"]``.
        metric: A key of :func:`.evaluation.score_volume`.

    Returns:
        Model -> centre -> mean.
    """
    return {k: {c: mean_over(v, metric) for c, v in scores[k].items()} for k in keys}


def markdown_table(
    rows: Mapping[str, Mapping[str, float]], fmt: str = ".3f", corner: str = ""
) -> str:
    """A Markdown table: one row per outer key, one column per inner key."""
    cols = list(next(iter(rows.values())))
    lines = [f"| {corner} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in rows.items():
        cells = [format(row[c], fmt) if np.isfinite(row[c]) else "-" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

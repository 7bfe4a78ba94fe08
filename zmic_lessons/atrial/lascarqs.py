"""The LAScarQS 2022 evaluation in pure Python: LA cavity in mm, scar on the LA surface.

The challenge's script (``LAScarQS2022_evaluate.py`` in AtrialJSQnet) scores

* the **LA cavity** with Dice, ASSD and the Hausdorff distance in mm (medpy, with the image's
  voxel spacing): here :func:`zmic_lessons.core.metrics` (same definitions);
* the **scar** on the surface of the ground-truth LA: predicted and true scar are both projected
  onto the same GT endocardial surface (:func:`zmic_lessons.data.atrial.project_scar_to_surface`,
  a surface voxel is scar when scar lies within ``radius_mm``), then Dice, accuracy, sensitivity,
  specificity and the generalised Dice ``(N_s Dice_s + N_w Dice_w) / (N_s + N_w)`` over the
  surface voxels (``N_s``, ``N_w``: true scar and true normal-wall surface voxels). A scar one
  voxel off along the wall normal lands on the same surface voxels, so errors of the LA or wall
  position do not count against the scar.

The released ``calculate_binary_acc`` loops over the first axis with chained comparisons and
raises on 3-D arrays; :func:`scar_metrics` counts ``(TP + TN) / N`` on the surface instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.metrics import assd, dice, hausdorff, hausdorff95
from ..data.atrial import project_scar_to_surface
from ..io import read_nifti

__all__ = ["evaluate_scar_files", "la_metrics", "read_label_pair", "scar_metrics"]

#: Cavity and scar values accepted in label files: the package's (1 cavity, 2 wall, 3 scar)
#: and the MM-WHS / LAScarQS style (420 LA, 421 normal wall, 422 scar).
LA_VALUES = (1, 420)
SCAR_VALUES = (3, 422)


def la_metrics(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float]) -> dict[str, float]:
    """Dice, ASSD, Hausdorff and HD95 (mm) of a 3-D LA cavity mask.

    Args:
        pred: ``bool (Z, Y, X)`` predicted cavity.
        gt: ``bool (Z, Y, X)`` true cavity.
        spacing: Voxel size ``(z, y, x)`` mm.
    """
    return {
        "dice": dice(pred, gt),
        "assd_mm": assd(pred, gt, spacing),
        "hd_mm": hausdorff(pred, gt, spacing),
        "hd95_mm": hausdorff95(pred, gt, spacing),
    }


def _ratio(num: int, den: int) -> float:
    return 1.0 if den == 0 else num / den


def scar_metrics(
    pred_scar: np.ndarray,
    gt_scar: np.ndarray,
    gt_la: np.ndarray,
    spacing: Sequence[float],
    radius_mm: float | None = None,
) -> dict[str, float]:
    """Scar scored on the ground-truth LA surface (the LAScarQS protocol).

    Args:
        pred_scar: ``bool (Z, Y, X)`` predicted scar (anywhere; only what projects counts).
        gt_scar: ``bool (Z, Y, X)`` true scar.
        gt_la: ``bool (Z, Y, X)`` true LA cavity: its surface is where both are compared.
        spacing: Voxel size ``(z, y, x)`` mm.
        radius_mm: Projection distance (default of :func:`project_scar_to_surface`).

    Returns:
        ``dice``, ``accuracy``, ``sensitivity``, ``specificity``, ``gdice``, and the counts
        ``n_surface`` and ``n_scar_surface`` (true scar on the surface). A ratio whose
        denominator is zero is 1.0 (nothing to find, nothing found).
    """
    surface, gt_on = project_scar_to_surface(gt_la, gt_scar, tuple(spacing), radius_mm)
    _, pred_on = project_scar_to_surface(gt_la, pred_scar, tuple(spacing), radius_mm)
    p, g = pred_on[surface], gt_on[surface]
    tp, fp = int(np.sum(p & g)), int(np.sum(p & ~g))
    fn, tn = int(np.sum(~p & g)), int(np.sum(~p & ~g))
    n = tp + fp + fn + tn
    dice_scar = _ratio(2 * tp, 2 * tp + fp + fn)
    dice_wall = _ratio(2 * tn, 2 * tn + fp + fn)
    n_scar, n_wall = tp + fn, tn + fp
    return {
        "dice": dice_scar,
        "accuracy": _ratio(tp + tn, n),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "gdice": _ratio(0, 0) if n == 0 else (n_scar * dice_scar + n_wall * dice_wall) / n,
        "n_surface": float(n),
        "n_scar_surface": float(n_scar),
    }


def _masks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cavity and scar of a label map (package or LAScarQS codes)."""
    return np.isin(labels, LA_VALUES), np.isin(labels, SCAR_VALUES)


def read_label_pair(pred_path: str | Path, gt_path: str | Path):
    """Read two label files that must share one voxel grid.

    Returns:
        ``(pred, gt, spacing)``: integer arrays ``(Z, Y, X)`` and the spacing ``(z, y, x)`` mm.

    Raises:
        FileNotFoundError: A file is missing (named).
        ValueError: Not 3-D, or the two grids differ (both files named).
    """
    pred = read_nifti(pred_path, expect_ndim=3)
    gt = read_nifti(gt_path, expect_ndim=3)
    if pred.array.shape != gt.array.shape:
        raise ValueError(
            f"{pred_path}: shape {pred.array.shape} differs from {gt_path}: {gt.array.shape}; "
            "the prediction must be on the ground truth's voxel grid"
        )
    if not np.allclose(pred.spacing, gt.spacing, rtol=1e-3):
        raise ValueError(
            f"{pred_path}: spacing {pred.spacing} mm differs from {gt_path}: {gt.spacing} mm"
        )
    to_int = lambda a: np.rint(a).astype(np.int64)  # noqa: E731
    return to_int(pred.array), to_int(gt.array), tuple(float(s) for s in gt.spacing)


def evaluate_scar_files(
    pred_path: str | Path,
    gt_path: str | Path,
    *,
    radius_mm: float | None = None,
) -> dict[str, float]:
    """Score a predicted LA + scar label file against the ground truth (LAScarQS protocol).

    Each file is one 3-D NIfTI label map with the cavity as 1 (or 420) and the scar as 3 (or
    422); other values (the wall, 2 or 421) are ignored. Distances use the files' spacing.

    Args:
        pred_path: Prediction file.
        gt_path: Ground-truth file (its LA surface carries the scar comparison).
        radius_mm: Scar projection distance (mm); default ``max(2.5, 1.5 * largest spacing)``.

    Returns:
        ``la_dice``, ``la_assd_mm``, ``la_hd_mm``, ``la_hd95_mm`` and ``scar_dice``,
        ``scar_accuracy``, ``scar_sensitivity``, ``scar_specificity``, ``scar_gdice``,
        ``scar_n_surface``, ``scar_n_scar_surface``.

    Raises:
        FileNotFoundError, ValueError: naming the file (missing, not 3-D, other grid, or a
            ground truth without LA cavity voxels).
    """
    pred, gt, spacing = read_label_pair(pred_path, gt_path)
    pred_la, pred_scar = _masks(pred)
    gt_la, gt_scar = _masks(gt)
    if not gt_la.any():
        raise ValueError(
            f"{gt_path}: no LA cavity voxels (values {LA_VALUES}); found values "
            f"{np.unique(gt).tolist()[:10]}"
        )
    out = {f"la_{k}": v for k, v in la_metrics(pred_la, gt_la, spacing).items()}
    scar = scar_metrics(pred_scar, gt_scar, gt_la, spacing, radius_mm)
    out.update({f"scar_{k}": v for k, v in scar.items()})
    return out

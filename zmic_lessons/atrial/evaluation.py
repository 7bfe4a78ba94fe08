"""Scoring of the chapter's networks: LA metrics in mm and scar on the LA surface, per centre.

No training here: a trained network, a volume and its intensity scheme go in, numbers come
out (:mod:`.lascarqs` holds the definitions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from torch import nn

from ..core.metrics import dice
from .experiment import Volume, predict, standardise
from .lascarqs import la_metrics, scar_metrics

__all__ = ["mean_over", "score_model", "score_volume"]


def score_volume(prob: np.ndarray, volume: Volume, threshold: float = 0.5) -> dict[str, float]:
    """LA Dice/ASSD/HD/HD95 (mm) and surface scar metrics of one prediction.

    Args:
        prob: ``(2, Z, Y, X)`` sigmoid outputs (LA, scar) from :func:`.experiment.predict`.
        volume: The case with its ground truth.
        threshold: Binarisation threshold of both heads.

    Returns:
        ``dice``, ``assd_mm``, ``hd_mm``, ``hd95_mm`` (LA cavity), ``scar_dice``,
        ``scar_accuracy``, ``scar_sensitivity``, ``scar_specificity``, ``scar_gdice``, and the
        volumetric ``scar_dice_volume`` (scar voxels against scar voxels, no projection).
    """
    la, scar = prob[0] > threshold, prob[1] > threshold
    out = la_metrics(la, volume.la, volume.spacing)
    sm = scar_metrics(scar, volume.scar, volume.la, volume.spacing)
    out.update({f"scar_{k}": v for k, v in sm.items() if not k.startswith("n_")})
    out["scar_dice_volume"] = dice(scar, volume.scar)
    return out


def score_model(
    model: nn.Module,
    tests: Mapping[str, Sequence[Volume]],
    scheme: str,
    reference: np.ndarray | None,
) -> dict[str, list[dict[str, float]]]:
    """Score a network on every test volume, centre by centre.

    Args:
        model: A trained network.
        tests: Centre -> test volumes.
        scheme: The intensity scheme it was trained with (``"none"``, ``"hm"``, ``"aug"``);
            the test images get the same standardisation (the augmentation is training-only).
        reference: The z-scored HM reference (``"hm"`` only).

    Returns:
        Centre -> one :func:`score_volume` dict per volume.
    """
    out: dict[str, list[dict[str, float]]] = {}
    for centre, volumes in tests.items():
        out[centre] = [
            score_volume(predict(model, standardise(v, scheme, reference)), v) for v in volumes
        ]
    return out


def mean_over(scores: Sequence[Mapping[str, float]], key: str) -> float:
    """Mean of one metric over cases, ignoring infinite distances (an empty prediction)."""
    values = np.array([s[key] for s in scores], dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")

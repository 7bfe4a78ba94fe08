"""The MvMM on a MyoPS 2020 training folder (pre-aligned bSSFP, T2 and LGE, labelled).

The first training case is fitted; its atlas comes from the *other* labelled cases of the
folder (leave-one-out: the evaluated case's labels never enter its own prior), placed and
fitted by the same :func:`.experiment.prepare_fit` and :func:`.settings.fit_config` as the
phantom. A folder with fewer than two training cases is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.ops import scale_to_percentile
from ..data.datasets import DatasetCase, MyoPS2020
from ..data.labels import SEQUENCES
from .atlas import tissue_classes
from .evaluation import myo_dice, pathology_dice
from .experiment import AtlasCases, FitInputs, fit_experiment, prepare_fit
from .optimise import MvMMFit
from .settings import Settings, pixel_scale

__all__ = ["RealFit", "fit_myops"]


@dataclass
class RealFit:
    """The MvMM fitted to one real case.

    Attributes:
        case: The case's name; atlas_cases: the names of the cases its atlas came from.
        inputs: What the fit used; fit: the fit; labels: the case's labels ``(Z, H, W)``.
        metrics: ``dice_myo_mvmm``, ``dice_scar``, ``dice_edema``.
    """

    case: str
    atlas_cases: list[str]
    inputs: FitInputs
    fit: MvMMFit
    labels: np.ndarray
    metrics: dict[str, float]


def _normalised(case: DatasetCase) -> np.ndarray:
    """``(S, Z, H, W)`` sequences divided by their 99.5th percentile, clipped at 1.5."""
    images = [scale_to_percentile(np.asarray(case.images[s], np.float32))[0] for s in SEQUENCES]
    return np.clip(np.stack(images), 0.0, 1.5)


def _atlas_cases(dataset: MyoPS2020, names: list[str], shape: tuple[int, ...]) -> AtlasCases:
    """Class maps and bSSFP images of the named cases; every grid must be ``shape``."""
    maps, images = [], []
    for name in names:
        case = dataset[name]
        classes = tissue_classes(case.labels[SEQUENCES[0]])
        if classes.shape != shape:
            raise ValueError(
                f"{dataset.root}: case {name} has grid {classes.shape}, the evaluated case "
                f"{shape}; resample the cases to one grid first"
            )
        maps.append(classes)
        images.append(_normalised(case)[0])
    return AtlasCases(maps, images)


def fit_myops(settings: Settings, data: Path, device: torch.device) -> RealFit:
    """Fit the MvMM to the folder's first training case, its atlas from the others.

    Args:
        settings: Chapter settings (``n_atlas`` other cases at most make the atlas).
        data: A MyoPS 2020 folder (``train25/``, ``train25_myops_gd/``).
        device: Torch device.

    Raises:
        ValueError: Fewer than two training cases (no atlas without the evaluated case's
            own labels), or cases on different grids.
    """
    dataset = MyoPS2020(data, split="train")
    names = dataset.names
    if len(names) < 2:
        raise ValueError(
            f"{data}: the MvMM needs at least 2 labelled MyoPS training cases (one to fit, "
            f"the others for its atlas; the evaluated case never enters its own atlas), "
            f"found {len(names)}"
        )
    case = dataset[names[0]]
    labels = np.asarray(case.labels[SEQUENCES[0]])
    others = names[1 : 1 + max(1, settings.n_atlas)]
    cases = _atlas_cases(dataset, others, labels.shape)
    images = torch.tensor(_normalised(case), device=device)
    cover = torch.ones(images.shape[:2], dtype=torch.bool, device=device)
    scale = pixel_scale(float(np.mean(case.spacing[SEQUENCES[0]][-2:])))
    inputs = prepare_fit(settings, images, cover, cases, scale)
    fit = fit_experiment(inputs)
    d_scar, d_edema = pathology_dice(fit, labels)
    metrics = {"dice_myo_mvmm": myo_dice(labels, fit.segmentation), "dice_scar": d_scar}
    metrics["dice_edema"] = d_edema
    return RealFit(case.name, others, inputs, fit, labels, metrics)

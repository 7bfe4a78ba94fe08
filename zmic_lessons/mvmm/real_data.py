"""The MvMM on real folders: MyoPS 2020 (pre-aligned) and MS-CMRSeg 2019 (sequences on own grids).

The first training case is fitted; its atlas comes from the *other* labelled cases of the
folder (leave-one-out: the evaluated case's labels never enter its own prior), placed and
fitted by the same :func:`.experiment.prepare_fit` and :func:`.settings.fit_config` as the
phantom. A folder with fewer than two training cases is refused. The sequences meet in the
common space (the bSSFP grid) through their affines (:func:`.common_space.common_stack`):
MS-CMRSeg's T2 and LGE have other voxel sizes, shapes and origins than its bSSFP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.datasets import MSCMRSeg, MyoPS2020
from ..data.datasets.base import Dataset
from ..data.labels import SEQUENCES
from .atlas import tissue_classes
from .common_space import common_stack
from .evaluation import myo_dice, pathology_dice
from .experiment import AtlasCases, FitInputs, fit_experiment, prepare_fit
from .optimise import MvMMFit
from .settings import Settings, pixel_scale

__all__ = ["RealFit", "fit_mscmrseg", "fit_myops", "fit_real"]


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


def _atlas_cases(dataset: Dataset, names: list[str], shape: tuple[int, ...]) -> AtlasCases:
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
        images.append(common_stack(case).images[0])
    return AtlasCases(maps, images)


def _fit_first(settings: Settings, dataset: Dataset, what: str, device: torch.device) -> RealFit:
    """Fit the first case of ``dataset`` in the bSSFP grid, its atlas from the next cases."""
    names = dataset.names
    if len(names) < 2:
        raise ValueError(
            f"{dataset.root}: the MvMM needs at least 2 labelled {what} training cases (one to "
            f"fit, the others for its atlas; the evaluated case never enters its own atlas), "
            f"found {len(names)}"
        )
    case = dataset[names[0]]
    labels = np.asarray(case.labels[SEQUENCES[0]])
    others = names[1 : 1 + max(1, settings.n_atlas)]
    cases = _atlas_cases(dataset, others, labels.shape)
    stack = common_stack(case)
    images = torch.tensor(stack.images, device=device)
    cover = torch.tensor(stack.coverage, device=device)
    scale = pixel_scale(float(np.mean(case.spacing[SEQUENCES[0]][-2:])))
    inputs = prepare_fit(settings, images, cover, cases, scale)
    fit = fit_experiment(inputs)
    d_scar, d_edema = pathology_dice(fit, labels)
    metrics = {"dice_myo_mvmm": myo_dice(labels, fit.segmentation), "dice_scar": d_scar}
    metrics["dice_edema"] = d_edema
    return RealFit(case.name, others, inputs, fit, labels, metrics)


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
    return _fit_first(settings, MyoPS2020(data, split="train"), "MyoPS", device)


def fit_mscmrseg(settings: Settings, data: Path, device: torch.device) -> RealFit:
    """Fit the MvMM to an MS-CMRSeg folder's first patient (its bSSFP grid is the common space).

    T2 and LGE are resampled onto the bSSFP grid through their affines
    (:func:`.common_space.common_stack`); the per-sequence rigid transforms of the fit then
    absorb the breath-hold misalignment. MS-CMRSeg has no pathology labels: ``dice_scar`` and
    ``dice_edema`` score an empty truth.

    Args:
        settings: Chapter settings.
        data: An MS-CMRSeg folder (``c0t2lge/``, ``c0gt/``, ...), every patient with a bSSFP
            label, all bSSFP volumes on one grid shape.
        device: Torch device.
    """
    return _fit_first(settings, MSCMRSeg(data), "MS-CMRSeg", device)


def fit_real(settings: Settings, data: Path, device: torch.device) -> RealFit:
    """Fit the MvMM to a real folder, MS-CMRSeg (``c0t2lge/``) or MyoPS 2020 (the default).

    Args:
        settings: Chapter settings.
        data: The data set's folder (see :func:`fit_mscmrseg` and :func:`fit_myops`).
        device: Torch device.
    """
    if (Path(data) / "c0t2lge").is_dir():
        return fit_mscmrseg(settings, Path(data), device)
    return fit_myops(settings, Path(data), device)

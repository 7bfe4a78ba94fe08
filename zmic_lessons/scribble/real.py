"""Real scribble data: ACDC (MAAG scribbles) or MSCMRseg LGE (CycleMix release) as slices.

The files are read by :mod:`zmic_lessons.data.datasets` (``ACDC``, ``MSCMRSeg`` in its
``"cyclemix"`` layout), which maps labels and scribbles to the package codes. This module only
turns volumes into the chapter's 2D windows: in-plane resampling to ``settings.pixel_mm``
(linear for images, nearest for labels and scribbles), then a ``crop`` window around the image
centre (the reference centre-crops after resampling; the heart is near the centre in both data
sets), padded with unlabelled pixels where the image is smaller.

Splits: ACDC patients in name order, 70 % train (scribbles, and the dense labels for full
supervision), 10 % validation, 20 % test (dense labels); MSCMRseg the release's ``train``
(scribbles), ``val`` and ``TestSet`` (manual labels) folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from ..data.datasets import ACDC, DatasetCase, MSCMRSeg
from ..data.errors import DataError
from ..data.scribbles import UNLABELLED
from .settings import Settings
from .slices import Experiment, make_slices


def _zoom(arr: np.ndarray, factors: tuple[float, float], order: int) -> np.ndarray:
    return ndimage.zoom(arr, factors, order=order, mode="nearest", grid_mode=True)


def case_slices(
    case: DatasetCase, key: str, settings: Settings, size: int, need: str
) -> dict[str, list]:
    """The 2D slices of one volume, resampled in-plane to ``settings.pixel_mm``.

    Args:
        case: A loaded case; key: its image key (``"bssfp"``, ``"lge"``).
        settings: Chapter settings; size: window side.
        need: ``"scribbles"`` (keep slices with a scribbled structure) or ``"labels"`` (keep
            slices with a labelled structure).

    Returns:
        Lists ``images``, ``labels``, ``scribbles``, ``centres``, ``names`` for
        :func:`.make_slices`.
    """
    sp = case.spacing[key]
    factors = (sp[-2] / settings.pixel_mm, sp[-1] / settings.pixel_mm)
    image, labels = case.images[key], case.labels.get(key)
    scribbles = case.scribbles.get(key)
    if need == "scribbles" and scribbles is None:
        raise DataError(f"{case.paths.get(key)}: no scribble file for this training case")
    if need == "labels" and labels is None:
        raise DataError(f"{case.paths.get(key)}: no label file for this evaluation case")
    out: dict[str, list] = {k: [] for k in ("images", "labels", "scribbles", "centres", "names")}
    for z in range(image.shape[0]):
        ref = scribbles[z] if need == "scribbles" else labels[z]
        fg = (ref > 0) & (ref != UNLABELLED)
        if not fg.any():
            continue
        img = _zoom(image[z].astype(np.float32), factors, 1)
        out["images"].append(img)
        out["labels"].append(None if labels is None else _zoom(labels[z], factors, 0))
        out["scribbles"].append(None if scribbles is None else _zoom(scribbles[z], factors, 0))
        out["centres"].append((img.shape[0] // 2, img.shape[1] // 2))
        out["names"].append(f"{case.name} z={z}")
    return out


def _slice_set(cases: list[DatasetCase], key: str, settings: Settings, size: int, need: str):
    parts: dict[str, list] = {k: [] for k in ("images", "labels", "scribbles", "centres", "names")}
    for case in cases:
        for k, v in case_slices(case, key, settings, size, need).items():
            parts[k].extend(v)
    if not parts["images"]:
        raise DataError(f"no usable slices ({need}) among {len(cases)} cases")
    return make_slices(
        parts["images"], parts["labels"], parts["scribbles"], parts["centres"], size,
        parts["names"],
    )  # fmt: skip


def _limit(cases: list, settings: Settings) -> list:
    return cases[: settings.max_cases] if settings.max_cases > 0 else cases


def _acdc(root: Path, settings: Settings) -> tuple[list, list, list, str]:
    data = ACDC(root)
    cases = [data[i] for i in range(len(data))]
    patients = sorted({c.info.get("patient", c.name.split("_")[0]) for c in cases})
    n = len(patients)
    n_train = max(1, int(round(0.7 * n)))
    n_val = max(1, int(round(0.1 * n))) if n >= 3 else 0
    split = {p: ("train" if i < n_train else "val" if i < n_train + n_val else "test")
             for i, p in enumerate(patients)}  # fmt: skip
    groups: dict[str, list] = {"train": [], "val": [], "test": []}
    for c in cases:
        groups[split[c.info.get("patient", c.name.split("_")[0])]].append(c)
    test = groups["test"] or groups["val"]
    return groups["train"], groups["val"] or test, test, "bssfp"


def _mscmr(root: Path, settings: Settings) -> tuple[list, list, list, str]:
    train = list(MSCMRSeg(root, split="train"))
    val = list(MSCMRSeg(root, split="val")) if _has_split(root, "val") else []
    test = list(MSCMRSeg(root, split="TestSet")) if _has_split(root, "TestSet") else val
    if not test:
        raise DataError(f"{root}: the CycleMix layout needs val/ or TestSet/ with manual labels")
    return train, val or test, test, "lge"


def _has_split(root: Path, split: str) -> bool:
    return any((base / split / "images").is_dir() for base in (root, root / "MSCMR_dataset"))


def _is_acdc(root: Path) -> bool:
    return any(any(base.glob("patient*/Info.cfg")) for base in (root, root / "training"))


def real_experiment(settings: Settings, root: Path) -> Experiment:
    """ACDC or MSCMRseg (CycleMix layout) slices, recognised from the folder's layout."""
    root = Path(root).expanduser()
    if _is_acdc(root):
        train, val, test, key = _acdc(root, settings)
        source = f"ACDC ({root})"
    else:
        train, val, test, key = _mscmr(root, settings)
        source = f"MSCMRseg CycleMix release ({root})"
    wide = settings.crop + 2 * settings.jitter
    return Experiment(
        train=_slice_set(_limit(train, settings), key, settings, wide, "scribbles"),
        val=_slice_set(_limit(val, settings), key, settings, settings.crop, "labels"),
        test=_slice_set(_limit(test, settings), key, settings, settings.crop, "labels"),
        source=source,
    )

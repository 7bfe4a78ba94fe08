"""The two adaptation tasks: bSSFP -> LGE and CT -> MR, from the phantom or the real files.

A task holds four sets of heart-centred 2D slices, ``(N, 1, S, S)`` images in about [0, 1]
(each image scaled by its own 1st and 99th percentiles) and ``(N, S, S)`` labels:

* ``source_train``: labelled source images (the only labels the adaptation methods see);
* ``target_train``: target images of *other* hearts, used without labels (the labels are kept
  for the target-supervised upper bound and for figures, never for adaptation);
* ``target_test``: target images of further hearts, scored; ``source_test``: their source twins
  (on the phantom the same anatomy in both domains, the chapter's first figure).

Phantom: :func:`~zmic_lessons.data.simulate_anatomy` draws each heart once;
:func:`~zmic_lessons.data.render_mr` gives its bSSFP and LGE, :func:`~zmic_lessons.data.render_ct`
its CT (in HU). The CT -> MR task segments LV and myocardium (as CFDNet's MM-WHS slices), the
bSSFP -> LGE task LV, myocardium and RV (as MS-CMRSeg); scar and oedema count as myocardium.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import render_ct, render_mr, simulate_anatomy
from ..data.errors import MissingDataError
from ..data.labels import LV, MYO, RV, merge_pathology

__all__ = [
    "TASKS",
    "AdaptationTask",
    "DomainSet",
    "crop_around_heart",
    "phantom_task",
    "real_task",
    "scale_image",
]

#: Task name -> (source domain, target domain, class names by label index).
TASKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bssfp2lge": ("bssfp", "lge", ("background", "lv", "myo", "rv")),
    "ct2mr": ("ct", "mr", ("background", "lv", "myo")),
}
_SEED_STRIDE = 100_003


@dataclass
class DomainSet:
    """Slices of one domain: ``images (N, 1, S, S)`` float32, ``labels (N, S, S)`` int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class AdaptationTask:
    """One source -> target problem (see the module docstring)."""

    name: str
    source: str
    target: str
    classes: tuple[str, ...]
    source_train: DomainSet
    target_train: DomainSet
    target_test: DomainSet
    source_test: DomainSet
    pixel_mm: float

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def scale_image(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Map the ``low``-th and ``high``-th percentiles of an image to 0 and 1 (not clipped)."""
    lo, hi = np.percentile(image, [low, high])
    return ((image - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def crop_around_heart(
    image: np.ndarray, labels: np.ndarray, size: int, shift: tuple[int, int] = (0, 0)
) -> tuple[np.ndarray, np.ndarray]:
    """A ``size x size`` crop centred on the labelled heart (+ ``shift``), zero-padded if needed.

    Args:
        image: ``(H, W)``; labels: ``(H, W)`` (the centre is their foreground centroid, the
            image centre if there is none).
        size: Crop side (pixels); shift: offset of the centre (pixels).
    """
    ys, xs = np.nonzero(labels)
    cy, cx = (ys.mean(), xs.mean()) if ys.size else (image.shape[0] / 2, image.shape[1] / 2)
    top = int(round(cy)) - size // 2 + shift[0]
    left = int(round(cx)) - size // 2 + shift[1]
    pad = size
    img = np.pad(image, pad, mode="edge")
    lab = np.pad(labels, pad)
    sl = (slice(top + pad, top + pad + size), slice(left + pad, left + pad + size))
    return img[sl], lab[sl]


def _task_labels(labels: np.ndarray, classes: Sequence[str], merge: bool = True) -> np.ndarray:
    """Package codes -> task classes (LV 1, myocardium 2, RV 3 or background).

    ``merge``: scar and oedema (codes 4, 5) count as myocardium (cardiac codes); ``False`` for
    MM-WHS codes, where 4 and 5 are the atria (background here).
    """
    merged = merge_pathology(labels) if merge else labels
    out = np.zeros(merged.shape, np.int64)
    out[merged == LV] = 1
    out[merged == MYO] = 2
    if "rv" in classes:
        out[merged == RV] = 3
    return out


def _render(anatomy, seed: int, domain: str) -> np.ndarray:  # noqa: ANN001
    """One domain's image ``(H, W)`` of an anatomy."""
    if domain == "ct":
        return render_ct(anatomy, seed)[0]
    sequence = "bssfp" if domain == "mr" else domain
    return render_mr(anatomy, seed, sequences=(sequence,)).images[sequence][0]


def _phantom_set(
    task: str, seeds: Sequence[int], domain: str, size: int, pixel_mm: float, jitter: int
) -> DomainSet:
    classes = TASKS[task][2]
    images, labels = [], []
    for seed in seeds:
        anatomy = simulate_anatomy(seed, size=int(size * 1.5), pixel_mm=pixel_mm)
        rng = np.random.default_rng([seed, 7])
        shift = tuple(int(v) for v in rng.integers(-jitter, jitter + 1, 2))
        image, lab = crop_around_heart(
            _render(anatomy, seed, domain), anatomy.labels[0], size, shift
        )
        images.append(scale_image(image))
        labels.append(_task_labels(lab, classes))
    return DomainSet(
        torch.from_numpy(np.stack(images))[:, None], torch.from_numpy(np.stack(labels))
    )


def phantom_task(
    task: str, *, n_train: int, n_test: int, size: int, pixel_mm: float, seed: int, jitter: int = 4
) -> AdaptationTask:
    """Build a task from the phantom: disjoint hearts for source, target-train and test.

    Args:
        task: ``"bssfp2lge"`` or ``"ct2mr"``.
        n_train: Hearts per training domain; n_test: test hearts.
        size: Crop side (pixels); pixel_mm: pixel size (mm).
        seed: Data seed (anatomy and appearance).
        jitter: Largest random offset of the heart from the crop centre (pixels).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    source, target, classes = TASKS[task]
    base = seed * _SEED_STRIDE + (0 if task == "bssfp2lge" else 50_000)
    train_s = [base + i for i in range(n_train)]
    train_t = [base + 10_000 + i for i in range(n_train)]
    test = [base + 20_000 + i for i in range(n_test)]
    args = (size, pixel_mm, jitter)
    return AdaptationTask(
        name=task,
        source=source,
        target=target,
        classes=classes,
        source_train=_phantom_set(task, train_s, source, *args),
        target_train=_phantom_set(task, train_t, target, *args),
        target_test=_phantom_set(task, test, target, *args),
        source_test=_phantom_set(task, test, source, *args),
        pixel_mm=pixel_mm,
    )


# ---------------------------------------------------------------- real data


def _resample(image: np.ndarray, labels: np.ndarray, spacing: Sequence[float], pixel_mm: float):
    """Resample a slice ``(H, W)`` to ``pixel_mm`` (bilinear image, nearest labels)."""
    shape = [
        max(1, int(round(n * s / pixel_mm))) for n, s in zip(image.shape, spacing[-2:], strict=True)
    ]
    img = torch.from_numpy(np.ascontiguousarray(image, np.float32))[None, None]
    lab = torch.from_numpy(np.ascontiguousarray(labels, np.float32))[None, None]
    img = F.interpolate(img, size=shape, mode="bilinear", align_corners=False)
    lab = F.interpolate(lab, size=shape, mode="nearest")
    return img[0, 0].numpy(), lab[0, 0].numpy().astype(np.int64)


def _slices_to_set(
    slices: list[tuple[np.ndarray, np.ndarray, Sequence[float]]],
    classes: Sequence[str], size: int, pixel_mm: float, merge: bool,
) -> DomainSet:  # fmt: skip
    images, labels = [], []
    for image, lab, spacing in slices:
        img, lb = _resample(image, lab, spacing, pixel_mm)
        img, lb = crop_around_heart(img, _task_labels(lb, classes, merge), size)
        images.append(scale_image(img))
        labels.append(lb)
    if not images:
        raise MissingDataError("no labelled slice with the heart in it was found")
    return DomainSet(
        torch.from_numpy(np.stack(images))[:, None], torch.from_numpy(np.stack(labels))
    )


def _volume_slices(case, key: str) -> list:  # noqa: ANN001
    """The slices of a case's ``key`` volume that show the heart (labels > 0)."""
    image, lab, spacing = case.images[key], case.labels.get(key), case.spacing[key]
    if lab is None:
        return []
    return [(image[z], lab[z], spacing) for z in range(image.shape[0]) if lab[z].any()]


def _split(items: list, test_fraction: float) -> tuple[list, list]:
    n_test = max(1, int(round(len(items) * test_fraction)))
    if len(items) < 2:
        raise MissingDataError(f"need at least two cases to split train/test, found {len(items)}")
    return items[:-n_test], items[-n_test:]


def _mscmr_task(root: Path, size: int, pixel_mm: float, test_fraction: float):
    from ..data.datasets import MSCMRSeg

    cases = list(MSCMRSeg(root))
    train, test = _split(cases, test_fraction)
    classes = TASKS["bssfp2lge"][2]

    def pick(group: list, key: str) -> list:
        return [s for c in group for s in _volume_slices(c, key)]

    sets = (pick(cases, "bssfp"), pick(train, "lge"), pick(test, "lge"), pick(test, "bssfp"))
    return [_slices_to_set(s, classes, size, pixel_mm, True) for s in sets]


def _mmwhs2d_task(root: Path, size: int, pixel_mm: float, test_fraction: float):
    from ..data.datasets import MMWHS2D

    if (root / "CT_MR_2D_Dataset_DA").is_dir():
        root = root / "CT_MR_2D_Dataset_DA"
    classes = TASKS["ct2mr"][2]

    def pick(data: list, key: str) -> list:
        return [(c.images[key], c.labels[key], c.spacing[key]) for c in data if c.labels[key].any()]

    ct = pick(list(MMWHS2D(root, "ct")), "ct")
    mr_train, mr_test = _split(list(MMWHS2D(root, "mr")), test_fraction)
    sets = (ct, pick(mr_train, "mr"), pick(mr_test, "mr"), ct[: len(mr_test)])
    return [_slices_to_set(s, classes, size, pixel_mm, False) for s in sets]


def real_task(
    task: str, root: Path, *, size: int, pixel_mm: float, test_fraction: float = 0.3
) -> AdaptationTask:
    """A task from the real files through the package loaders.

    * ``"bssfp2lge"``: :class:`~zmic_lessons.data.MSCMRSeg` (challenge layout). Source: every
      patient's labelled bSSFP slices; target training: the LGE of the first patients (labels
      unused except by the upper bound); test: the LGE of the last ``test_fraction`` patients.
    * ``"ct2mr"``: :class:`~zmic_lessons.data.MMWHS2D` (``CT_MR_2D_Dataset_DA``). Source: the
      labelled CT slices; the MR slices split in order into target training and test.

    Slices are resampled to ``pixel_mm`` and cropped (``size``) around the labelled heart.

    Raises:
        MissingDataError: The loader found no data under ``root`` (its message names the file).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    build = _mscmr_task if task == "bssfp2lge" else _mmwhs2d_task
    source_train, target_train, target_test, source_test = build(
        Path(root), size, pixel_mm, test_fraction
    )
    source, target, classes = TASKS[task]
    return AdaptationTask(
        task, source, target, classes, source_train, target_train, target_test, source_test,
        pixel_mm,
    )  # fmt: skip

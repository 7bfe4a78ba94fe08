"""MM-WHS 2017 whole-heart CT and MR volumes, and the 2D CT/MR slices of CFDNet/VarDA."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import MissingDataError
from .base import Dataset, DatasetCase, Entry, find, number, require_dir
from .codes import WHS_CODES
from .reading import load_sequences

__all__ = ["MMWHS", "MMWHS2D"]


def _orphan_labels(labels: Iterable[Path], image_of: Callable[[Path], Path]) -> None:
    """A label file whose image is absent (a partial download) is named, not skipped."""
    for label in sorted(labels):
        image = image_of(label)
        if find(image.parent, image.name.split(".nii")[0]) is None:
            raise MissingDataError(f"{image}: expected the image of {label}, but it is missing")


class MMWHS(Dataset):
    """MM-WHS 2017 whole-heart CT or MR volumes.

    Layout: ``{ct,mr}_train/{ct,mr}_train_{N}_image.nii.gz`` and ``..._label.nii.gz``
    (``split="test"``: ``{ct,mr}_test/{ct,mr}_test_{N}_image.nii.gz``, no labels). Labels
    500 LV, 205 myocardium, 600 RV, 420 LA, 550 RA, 820 ascending aorta, 850 pulmonary artery
    -> :data:`WHS_LABELS`. The image is under the key ``modality`` (``"ct"`` or ``"mr"``).
    """

    def __init__(self, root: str | Path, modality: str = "ct", split: str = "train") -> None:
        if modality not in ("ct", "mr"):
            raise ValueError(f"modality must be 'ct' or 'mr', got {modality!r}")
        self.modality, self.split = modality, split
        super().__init__(root)

    def _expected(self) -> str:
        m, s = self.modality, self.split
        return f"{m}_{s}/{m}_{s}_{{N}}_image.nii.gz"

    def _index(self) -> list[Entry]:
        tag = f"{self.modality}_{self.split}"
        folder = require_dir(self.root / tag, f"{tag}/ ({tag}_N_image.nii.gz)")
        entries = []
        for path in sorted(
            folder.glob(f"{tag}_*_image.nii*"), key=lambda p: number(p.name.replace("_image", ""))
        ):
            name = path.name.split("_image")[0]
            files = {self.modality: path}
            label = find(folder, f"{name}_label")
            if label is None and self.split == "train":
                raise MissingDataError(
                    f"{folder / (name + '_label.nii.gz')}: expected the label of {path.name}"
                )
            if label is not None:
                files[f"{self.modality}_label"] = label
            entries.append(Entry(name, files, {"modality": self.modality}))
        _orphan_labels(
            folder.glob(f"{tag}_*_label.nii*"),
            lambda p: p.with_name(p.name.replace("_label", "_image")),
        )
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        return load_sequences(
            entry.name, entry, {self.modality: self.modality.upper()}, WHS_CODES, aligned=False
        )


class MMWHS2D(Dataset):
    """The 2D CT/MR slices of MM-WHS used by CFDNet and VarDA (CT_MR_2D_Dataset_DA).

    Layout: ``{CT,MR}_withGT/Images/img*.nii.gz`` with ``{CT,MR}_withGT/Label/lab*.nii.gz`` (the
    label file name is the image's with ``img`` replaced by ``lab``); ``labelled=False`` reads
    ``{CT,MR}_woGT`` (pseudo-labels, loaded too when present). Each slice is one case, images
    ``float32 (Y, X)`` under ``"ct"`` / ``"mr"``; labels 205 myocardium, 500 LV (other MM-WHS
    codes are accepted) -> :data:`WHS_LABELS`.
    """

    def __init__(self, root: str | Path, modality: str = "ct", labelled: bool = True) -> None:
        if modality not in ("ct", "mr"):
            raise ValueError(f"modality must be 'ct' or 'mr', got {modality!r}")
        self.modality, self.labelled = modality, labelled
        self.folder = f"{modality.upper()}_{'withGT' if labelled else 'woGT'}"
        super().__init__(root)

    def _expected(self) -> str:
        return f"{self.folder}/Images/img*.nii.gz"

    def _index(self) -> list[Entry]:
        base = require_dir(self.root / self.folder, f"{self.folder}/ (Images/, Label/)")
        images = require_dir(base / "Images", "Images/ (img*.nii.gz)")
        entries = []
        for path in sorted(images.glob("img*.nii*")):
            files = {self.modality: path}
            label = base / "Label" / path.name.replace("img", "lab", 1)
            if label.is_file():
                files[f"{self.modality}_label"] = label
            elif self.labelled:
                raise MissingDataError(f"{label}: expected the label of {path}")
            entries.append(Entry(path.name.split(".nii")[0], files))
        if (base / "Label").is_dir():
            _orphan_labels(
                (base / "Label").glob("lab*.nii*"),
                lambda p: images / p.name.replace("lab", "img", 1),
            )
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        return load_sequences(
            entry.name,
            entry,
            {self.modality: self.modality.upper()},
            WHS_CODES,
            aligned=False,
            expect_ndim=2,
        )

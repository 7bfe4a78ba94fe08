"""MyoPS 2020: pre-aligned bSSFP, LGE and T2 with one pathology label map."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import MissingDataError
from .base import Dataset, DatasetCase, Entry, find, number, require_dir
from .codes import MYOPS_CODES
from .reading import load_sequences

__all__ = ["MyoPS2020"]


def _no_orphan_labels(gd: Path, folder: Path, names: set[str]) -> None:
    """A label map whose images are all absent (a partial download) is named, not skipped."""
    for label in sorted(gd.glob("myops_training_*_gd.nii*")):
        name = label.name.split("_gd.nii")[0]
        if name not in names:
            raise MissingDataError(
                f"{folder / (name + '_C0.nii.gz')}: expected the images of {label.name} "
                "(its C0, DE and T2 files are missing)"
            )


class MyoPS2020(Dataset):
    """MyoPS 2020: pre-aligned bSSFP (C0), LGE (DE) and T2 with one pathology label map.

    Layout::

        train25/myops_training_{N}_{C0,DE,T2}.nii.gz
        train25_myops_gd/myops_training_{N}_gd.nii.gz
        test20/myops_test_{N}_{C0,DE,T2}.nii.gz          (no labels)

    Labels 500 LV, 600 RV, 200 myocardium, 1220 oedema, 2221 scar -> package codes; the one
    label map is shared by the three sequences (``case.labels[seq]`` is the same array).

    Args:
        root: The data set folder.
        split: ``"train"`` (``train25``) or ``"test"`` (``test20``).
    """

    SEQUENCES = {"bssfp": "C0", "lge": "DE", "t2": "T2"}

    def __init__(self, root: str | Path, split: str = "train") -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        super().__init__(root)

    def _expected(self) -> str:
        folder = "train25/myops_training" if self.split == "train" else "test20/myops_test"
        return f"{folder}_{{N}}_{{C0,DE,T2}}.nii.gz"

    def _index(self) -> list[Entry]:
        folder_name, prefix = (
            ("train25", "myops_training") if self.split == "train" else ("test20", "myops_test")
        )
        folder = require_dir(self.root / folder_name, f"{folder_name}/ ({prefix}_N_C0.nii.gz)")
        gd = self.root / "train25_myops_gd"
        if self.split == "train":
            require_dir(gd, "train25_myops_gd/ (myops_training_N_gd.nii.gz)")
        names = sorted(
            {
                m.group(1)
                for p in folder.iterdir()
                if (m := re.match(rf"({prefix}_\d+)_(C0|DE|T2)\.nii(\.gz)?$", p.name))
            },
            key=number,
        )
        entries = []
        for name in names:
            files: dict[str, Path] = {}
            for key, tag in self.SEQUENCES.items():
                path = find(folder, f"{name}_{tag}")
                if path is None:
                    raise MissingDataError(
                        f"{folder / (name + '_' + tag + '.nii.gz')}: expected the {tag} image "
                        f"of {name} (MyoPS ships C0, DE and T2 for every case)"
                    )
                files[key] = path
            if self.split == "train":
                label = find(gd, f"{name}_gd")
                if label is None:
                    raise MissingDataError(
                        f"{gd / (name + '_gd.nii.gz')}: expected the label map of {name}"
                    )
                files["gd"] = label
            entries.append(Entry(name, files, {"split": self.split}))
        if self.split == "train":
            _no_orphan_labels(gd, folder, set(names))
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        return load_sequences(
            entry.name,
            entry,
            self.SEQUENCES,
            MYOPS_CODES,
            aligned=True,
            shared_label="gd" if "gd" in entry.files else None,
        )

"""LAScarQS 2022: 3D LGE of the left atrium with cavity (and scar) label maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atrial import LA_SCAR, LA_WALL
from ..errors import MissingDataError
from .base import Dataset, DatasetCase, Entry, find, number, require_dir
from .codes import lascarqs_atrium_codes
from .reading import align_to, check_image, map_labels, read

__all__ = ["LAScarQS"]


class LAScarQS(Dataset):
    """LAScarQS 2022: 3D LGE of the left atrium (task 1: cavity and scar; task 2: cavity).

    Layout: ``task{1,2}/<split>/<case>/enhanced.nii.gz``, ``atriumSegImgMO.nii.gz`` and, for
    task 1, ``scarSegImgM.nii.gz``. The LGE is under ``"lge"``; labels in ``atrial`` codes:
    1 LA cavity (any non-zero cavity value), 3 scar (non-zero scar value, or 422 when the map
    uses 421 normal wall / 422 scar; 421 becomes 2, wall). Label values are not verified
    against the release (see the module docstring).

    Args:
        root: The folder holding ``task1/`` / ``task2/`` (or one task folder itself).
        task: 1 or 2.
        split: The sub-folder of the task, ``"train_data"`` by default.
    """

    def __init__(self, root: str | Path, task: int = 1, split: str = "train_data") -> None:
        if task not in (1, 2):
            raise ValueError(f"task must be 1 or 2, got {task!r}")
        self.task, self.split = task, split
        root = Path(root).expanduser()
        if (root / f"task{task}").is_dir():
            root = root / f"task{task}"
        super().__init__(root)

    def _expected(self) -> str:
        return f"{self.split}/<case>/enhanced.nii.gz and atriumSegImgMO.nii.gz"

    def _index(self) -> list[Entry]:
        folder = require_dir(self.root / self.split, f"{self.split}/ (one folder per case)")
        entries = []
        for case in sorted(
            (p for p in folder.iterdir() if p.is_dir()), key=lambda p: (number(p.name), p.name)
        ):
            files: dict[str, Path] = {}
            needed = [("lge", "enhanced"), ("atrium", "atriumSegImgMO")]
            if self.task == 1:
                needed.append(("scar", "scarSegImgM"))
            for key, stem in needed:
                path = find(case, stem)
                if path is None:
                    raise MissingDataError(
                        f"{case / (stem + '.nii.gz')}: expected in every task {self.task} case"
                    )
                files[key] = path
            entries.append(Entry(case.name, files, {"task": self.task}))
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        img = read(entry.files["lge"], 3, f"LGE image of {entry.name}")
        image = check_image(img, f"LGE image of {entry.name}")
        atrium = read(entry.files["atrium"], 3, f"LA cavity label of {entry.name}")
        cavity = align_to(atrium, img, "image and label must cover the same voxels")
        labels = map_labels(
            cavity, lascarqs_atrium_codes(), entry.files["atrium"], allow_empty=False
        )
        if "scar" in entry.files:
            scar = read(entry.files["scar"], 3, f"scar label of {entry.name}")
            scar_arr = align_to(scar, img, "image and scar label must cover the same voxels")
            values = set(np.unique(scar_arr).round().astype(int).tolist())
            if values & {421, 422}:
                scar_codes = {0: 0, 421: LA_WALL, 422: LA_SCAR}
            else:
                scar_codes = {0: 0, 1: LA_SCAR, 255: LA_SCAR}
            scar_map = map_labels(scar_arr, scar_codes, entry.files["scar"])
            labels[scar_map > 0] = scar_map[scar_map > 0]
        return DatasetCase(
            name=entry.name,
            images={"lge": image},
            labels={"lge": labels},
            spacing={"lge": img.spacing},
            paths=dict(entry.files),
            info=dict(entry.info),
            affine={"lge": img.affine},
        )

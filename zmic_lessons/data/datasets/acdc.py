"""ACDC: cine bSSFP at end-diastole and end-systole, with scribbles if present."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..errors import DataError, MissingDataError
from .base import Dataset, DatasetCase, Entry, find
from .codes import ACDC_CODES
from .reading import load_sequences

__all__ = ["ACDC"]


def _parse_info_cfg(path: Path) -> dict[str, Any]:
    """Read ACDC's ``Info.cfg`` (``key: value`` lines); ED and ES must be integers."""
    if not path.is_file():
        raise MissingDataError(f"{path}: expected the ACDC Info.cfg (ED, ES, Group ...)")
    info: dict[str, Any] = {}
    for line in path.read_text(errors="replace").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            info[key.strip()] = value.strip()
    for key in ("ED", "ES"):
        if key not in info or not info[key].isdigit():
            raise DataError(
                f"{path}: expected a line '{key}: <frame number>', got {info.get(key)!r}"
            )
        info[key] = int(info[key])
    for key in ("Height", "Weight"):
        if key in info:
            with contextlib.suppress(ValueError):
                info[key] = float(info[key])
    if "NbFrame" in info and str(info["NbFrame"]).isdigit():
        info["NbFrame"] = int(info["NbFrame"])
    return info


class ACDC(Dataset):
    """ACDC: cine bSSFP at end-diastole (ED) and end-systole (ES), with scribbles if present.

    Layout (``root`` holds ``training/`` and/or ``testing/``, or is one of them)::

        training/patient001/Info.cfg                       (ED: 1, ES: 12, Group: DCM, ...)
        training/patient001/patient001_frame01.nii.gz      (+ _gt.nii.gz, + _scribble.nii.gz)
        training/patient001/patient001_frame12.nii.gz ...

    Each patient gives two cases, ``patient001_ED`` and ``patient001_ES``, with the image under
    ``"bssfp"``. Labels 1 RV, 2 myocardium, 3 LV; scribbles 0 background, 1-3 as labels,
    4 unannotated (-> 255).

    Args:
        root: The data set folder.
        split: ``"training"`` or ``"testing"``.
    """

    def __init__(self, root: str | Path, split: str = "training") -> None:
        self.split = split
        root = Path(root).expanduser()
        if (root / split).is_dir():
            root = root / split
        super().__init__(root)

    def _expected(self) -> str:
        return "patient{NNN}/ folders with Info.cfg and patient{NNN}_frame{FF}.nii.gz"

    def _index(self) -> list[Entry]:
        entries = []
        for folder in sorted(self.root.glob("patient*")):
            if not folder.is_dir():
                continue
            info = _parse_info_cfg(folder / "Info.cfg")
            for phase in ("ED", "ES"):
                stem = f"{folder.name}_frame{info[phase]:02d}"
                image = find(folder, stem)
                if image is None:
                    raise MissingDataError(
                        f"{folder / (stem + '.nii.gz')}: expected the {phase} frame named in "
                        f"{folder / 'Info.cfg'}"
                    )
                files = {"bssfp": image}
                for suffix, key in (("gt", "bssfp_label"), ("scribble", "bssfp_scribble")):
                    path = find(folder, f"{stem}_{suffix}")
                    if path is not None:
                        files[key] = path
                meta = {k: v for k, v in info.items()}
                meta.update(phase=phase, frame=info[phase], patient=folder.name)
                entries.append(Entry(f"{folder.name}_{phase}", files, meta))
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        return load_sequences(entry.name, entry, {"bssfp": "cine"}, ACDC_CODES, aligned=False)

"""MS-CMRSeg 2019: bSSFP, T2 and LGE per patient, each in its own space."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import MissingDataError
from .base import Dataset, DatasetCase, Entry, find, number, require_dir
from .codes import MSCMR_CODES, MSCMR_CYCLEMIX_CODES
from .reading import load_sequences

__all__ = ["MSCMRSeg"]


class MSCMRSeg(Dataset):
    """MS-CMRSeg 2019: bSSFP (C0), T2 and LGE per patient, **not** aligned to each other.

    Two layouts are recognised (``root`` may also be the folder above them):

    * ``"challenge"`` (the official release)::

          c0t2lge/patient{N}_C0.nii.gz, patient{N}_T2.nii.gz, patient{N}_LGE.nii.gz
          c0gt/patient{N}_C0_manual.nii.gz   t2gt/..._T2_manual.nii.gz   lgegt/..._LGE_manual.nii.gz

      labels 200 myocardium, 500 LV, 600 RV; a label is loaded where its file exists (the
      challenge released LGE labels for a few patients only).
    * ``"cyclemix"`` (BWGZK/CycleMix ``MSCMR_dataset``, LGE only): ``{train,val,TestSet}/images/
      subject{N}_DE.nii.gz`` with ``labels/subject{N}_DE_manual.nii.gz`` (1 RV, 2 myocardium,
      3 LV) or ``labels/subject{N}_DE_scribble.nii.gz`` (+ 4 unannotated); pick ``split``.

    Args:
        root: The data set folder.
        split: For the CycleMix layout: ``"train"``, ``"val"`` or ``"TestSet"``.
    """

    SEQUENCES = {"bssfp": "C0", "t2": "T2", "lge": "LGE"}
    LABEL_DIRS = {"bssfp": "c0gt", "t2": "t2gt", "lge": "lgegt"}

    def __init__(self, root: str | Path, split: str = "train") -> None:
        root = Path(root).expanduser()
        for sub in ("C0LET2_nii45_for_challenge19", "MSCMR_dataset"):
            if not (root / "c0t2lge").is_dir() and (root / sub).is_dir():
                root = root / sub
        self.split = split
        self.layout = "challenge" if (root / "c0t2lge").is_dir() else "cyclemix"
        super().__init__(root)

    def _expected(self) -> str:
        if self.layout == "challenge":
            return "c0t2lge/patient{N}_{C0,T2,LGE}.nii.gz"
        return f"{self.split}/images/subject{{N}}_DE.nii.gz (CycleMix layout) or c0t2lge/"

    def _index(self) -> list[Entry]:
        return self._index_challenge() if self.layout == "challenge" else self._index_cyclemix()

    def _index_challenge(self) -> list[Entry]:
        folder = self.root / "c0t2lge"
        patients = sorted(
            {
                m.group(1)
                for p in folder.glob("patient*_*.nii*")
                if (m := re.match(r"(patient\d+)_(C0|T2|LGE)\.nii(\.gz)?$", p.name))
            },
            key=number,
        )
        entries = []
        for patient in patients:
            files: dict[str, Path] = {}
            for key, tag in self.SEQUENCES.items():
                path = find(folder, f"{patient}_{tag}")
                if path is None:
                    raise MissingDataError(
                        f"{folder / (patient + '_' + tag + '.nii.gz')}: expected the {tag} image "
                        f"of {patient} (MS-CMRSeg ships C0, T2 and LGE for every patient)"
                    )
                files[key] = path
                label = find(self.root / self.LABEL_DIRS[key], f"{patient}_{tag}_manual")
                if label is not None:
                    files[f"{key}_label"] = label
            entries.append(Entry(patient, files))
        return entries

    def _index_cyclemix(self) -> list[Entry]:
        split_dir = require_dir(self.root / self.split, f"{self.split}/ of the CycleMix layout")
        images = require_dir(split_dir / "images", "images/ (subject{N}_DE.nii.gz)")
        labels = split_dir / "labels"
        entries = []
        for path in sorted(images.glob("subject*_DE.nii*"), key=lambda p: number(p.name)):
            name = path.name.split(".nii")[0]
            files = {"lge": path}
            manual = find(labels, f"{name}_manual")
            scribble = find(labels, f"{name}_scribble")
            if manual is not None:
                files["lge_label"] = manual
            if scribble is not None:
                files["lge_scribble"] = scribble
            if manual is None and scribble is None and labels.is_dir():
                raise MissingDataError(
                    f"{labels / (name + '_manual.nii.gz')}: expected the label (or "
                    f"{name}_scribble.nii.gz) of {path.name}"
                )
            entries.append(Entry(name, files, {"split": self.split}))
        return entries

    def _load(self, entry: Entry) -> DatasetCase:
        if self.layout == "challenge":
            return load_sequences(entry.name, entry, self.SEQUENCES, MSCMR_CODES, aligned=False)
        return load_sequences(entry.name, entry, {"lge": "DE"}, MSCMR_CYCLEMIX_CODES, aligned=False)

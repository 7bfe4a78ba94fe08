"""Loaders for the real data sets, reading the files in their published layouts.

Each loader indexes a folder when it is built (so a missing or partial folder fails at once,
naming the file it expected), then reads a case when it is indexed::

    data = MyoPS2020("/data/MyoPS2020")
    len(data), data.names[:3]
    case = data[0]              # or data["myops_training_101"]
    case.images["lge"].shape    # (z, y, x), float32
    case.labels["lge"]          # uint8, package codes
    case.spacing["lge"]         # (z, y, x) mm

Arrays follow the package convention (:mod:`zmic_lessons.io`): ``(z, y, x)`` and spacing in the
same order. Label maps are converted to the package codes:

* cardiac (MS-CMRSeg, MyoPS, ACDC): ``labels.CARDIAC_LABELS`` (0 bg, 1 LV, 2 MYO, 3 RV,
  4 scar, 5 oedema); scribbles use the same codes plus ``scribbles.UNLABELLED`` (255);
* MM-WHS: :data:`WHS_LABELS` (0 bg, 1 LV, 2 MYO, 3 RV, 4 LA, 5 RA, 6 ascending aorta,
  7 pulmonary artery); the first three agree with the cardiac codes;
* LAScarQS: ``atrial.ATRIAL_LABELS`` (0 bg, 1 LA cavity, 2 wall, 3 scar).

Every problem raises a :class:`~zmic_lessons.data.errors.DataError` naming the file: a missing
folder or file, an unknown label value, image/label shapes or spacings that differ, a 4D file
where 3D is expected, NaNs, a corrupt gzip, a malformed ``Info.cfg``.

What was verified, and how (details and the remaining gaps in ``book/real_data.md``):

* **MS-CMRSeg 2019**, challenge release: ``C0LET2_nii45_for_challenge19/c0t2lge/
  patient{N}_{C0,T2,LGE}.nii.gz`` with labels in ``c0gt/``, ``t2gt/``, ``lgegt/`` named
  ``patient{N}_{SEQ}_manual.nii.gz``; codes 200 myocardium, 500 LV, 600 RV. Folder and file
  names verified in several public training scripts; the codes agree with the MyoPS page (same
  lab) and public code mapping 500/200/600. CycleMix re-release (``MSCMR_dataset/{train,val,
  TestSet}/{images,labels}/subject{N}_DE[_manual|_scribble].nii.gz``): verified by opening the
  files of the BWGZK/CycleMix repository: manual labels 1 RV, 2 myocardium, 3 LV (checked
  geometrically: 2 is the ring around 3); scribbles 0 background, 1-3 as above, 4 unannotated.
* **MyoPS 2020**: ``train25/myops_training_{101..125}_{C0,DE,T2}.nii.gz``,
  ``train25_myops_gd/myops_training_{N}_gd.nii.gz``, ``test20/myops_test_{201..220}_*``; codes
  500 LV, 600 RV, 200 myocardium, 1220 oedema, 2221 scar (challenge page, public code).
* **ACDC**: ``{training,testing}/patient{NNN}/patient{NNN}_frame{FF}[_gt].nii.gz``,
  ``Info.cfg`` (``ED:``, ``ES:``, ``Group:``, ``Height:``, ``NbFrame:``, ``Weight:``); codes
  1 RV, 2 myocardium, 3 LV. Scribbles (Valvano et al., MAAG):
  ``patient{NNN}_frame{FF}_scribble.nii.gz`` in the patient folder, 0 background, 1 RV,
  2 myocardium, 3 LV, 4 unannotated (from the MAAG preprocessing code).
* **MM-WHS 2017**: ``{ct,mr}_train/{ct,mr}_train_{1001..1020}_{image,label}.nii.gz``; codes 500
  LV, 205 myocardium, 600 RV, 420 LA, 550 RA, 820 ascending aorta, 850 pulmonary artery (many
  public scripts agree). The 2D CT/MR slices of CFDNet (FupingWu90/CT_MR_2D_Dataset_DA):
  ``{CT,MR}_{withGT,woGT}/Images/img*.nii.gz`` with ``Label/lab*.nii.gz`` (``img`` -> ``lab``),
  codes 205 myocardium and 500 LV: verified from CFDNet's loader and public reuse; the rest of the
  file names inside the zip files is **not** verified.
* **LAScarQS 2022**: ``task{1,2}/train_data/<case>/enhanced.nii.gz``,
  ``atriumSegImgMO.nii.gz`` (LA cavity), ``scarSegImgM.nii.gz`` (task 1): verified on the
  challenge page and public code. The label **values are not verified**: public code binarises
  the cavity with ``> 0`` and some scar maps use 421 (normal wall) / 422 (scar); this loader
  accepts cavity values {0, 1, 255, 420} and scar values {0, 1, 255} or {0, 421, 422}.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import NiftiError, NiftiImage, read_nifti
from . import labels
from .atrial import LA_BLOOD, LA_SCAR, LA_WALL
from .errors import DataError, FileFormatError, GeometryError, LabelError, MissingDataError
from .labels import BACKGROUND, LV, MYO, RV, SCAR
from .labels import EDEMA as OEDEMA
from .scribbles import UNLABELLED

__all__ = [
    "ACDC",
    "ACDC_CODES",
    "LASCARQS_ATRIUM_CODES",
    "MSCMR_CODES",
    "MYOPS_CODES",
    "SCRIBBLE_CODES",
    "WHS_CODES",
    "WHS_LABELS",
    "DatasetCase",
    "LAScarQS",
    "MMWHS",
    "MMWHS2D",
    "MSCMRSeg",
    "MyoPS2020",
]


def _file_to_package(codes: dict[int, int], classes: tuple[int, ...]) -> dict[int, int]:
    """Invert a package -> file code table (``labels.*_CODES``) over the classes a set labels."""
    return {codes[k]: k for k in classes}


_ANATOMY = (BACKGROUND, LV, MYO, RV)
#: file value -> package code, per data set (the inverses of the tables in ``labels``)
MSCMR_CODES: dict[int, int] = _file_to_package(labels.MSCMR_CODES, _ANATOMY)
MSCMR_CYCLEMIX_CODES: dict[int, int] = _file_to_package(labels.ACDC_CODES, _ANATOMY)
MYOPS_CODES: dict[int, int] = _file_to_package(labels.MYOPS_CODES, (*_ANATOMY, OEDEMA, SCAR))
ACDC_CODES: dict[int, int] = _file_to_package(labels.ACDC_CODES, _ANATOMY)
#: ACDC (MAAG) and MS-CMR (CycleMix) scribbles: 4 = not annotated
SCRIBBLE_CODES: dict[int, int] = {0: BACKGROUND, 1: RV, 2: MYO, 3: LV, 4: UNLABELLED}

WHS_LABELS: dict[str, int] = {
    "background": 0,
    "lv": 1,
    "myo": 2,
    "rv": 3,
    "la": 4,
    "ra": 5,
    "aorta": 6,
    "pa": 7,
}
WHS_CODES: dict[int, int] = {0: 0, 500: 1, 205: 2, 600: 3, 420: 4, 550: 5, 820: 6, 850: 7}
LASCARQS_ATRIUM_CODES = (0, 1, 255, 420)

_SPACING_RTOL = 1e-3


@dataclass
class DatasetCase:
    """One case read from disk.

    Attributes:
        name: Case identifier (e.g. ``"patient001_ED"``, ``"myops_training_101"``).
        images: Sequence or modality (``"bssfp"``, ``"t2"``, ``"lge"``, ``"ct"``, ``"mr"``) ->
            ``float32 (Z, Y, X)`` (``(Y, X)`` for the 2D MM-WHS slices).
        labels: Same keys -> ``uint8`` label map in package codes; a key is absent when the data
            set has no label for that image (test sets, unlabelled sequences).
        spacing: Same keys -> voxel size in mm, array order.
        paths: ``key`` -> image file, ``key + "_label"`` / ``key + "_scribble"`` -> label files.
        scribbles: Same keys -> ``uint8`` scribbles (package codes, 255 = not annotated).
        info: Extra facts (ACDC ``Info.cfg`` fields, the frame, the split ...).
    """

    name: str
    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    spacing: dict[str, tuple[float, ...]]
    paths: dict[str, Path]
    scribbles: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Entry:
    name: str
    files: dict[str, Path]
    info: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- reading and checking


def _read(path: Path, expect_ndim: int, what: str) -> NiftiImage:
    """``read_nifti`` with errors turned into ``DataError``s that say what the file should be."""
    try:
        return read_nifti(path, expect_ndim=expect_ndim)
    except FileNotFoundError as err:
        raise MissingDataError(f"{path}: expected the {what}, but the file is missing") from err
    except NiftiError as err:
        raise FileFormatError(f"{err} (reading the {what})") from err


def _map_labels(arr: np.ndarray, codes: Mapping[int, int], path: Path) -> np.ndarray:
    """Map file label values to package codes; unknown or non-integer values raise LabelError."""
    values = np.unique(arr)
    if np.issubdtype(values.dtype, np.floating):
        bad = values[np.abs(values - np.round(values)) > 1e-3]
        if bad.size:
            raise LabelError(
                f"{path}: label values must be integers, found {bad[:5].tolist()}; expected "
                f"codes {sorted(codes)}"
            )
        values = np.round(values).astype(np.int64)
        arr = np.round(arr).astype(np.int64)
    unknown = sorted(set(values.tolist()) - set(codes))
    if unknown:
        raise LabelError(
            f"{path}: unknown label value(s) {unknown[:10]}; this data set uses {sorted(codes)}"
        )
    out = np.zeros(arr.shape, dtype=np.uint8)
    for value, code in codes.items():
        if code:
            out[arr == value] = code
    return out


def _check_same_grid(a: NiftiImage, b: NiftiImage, what: str) -> None:
    if a.shape != b.shape:
        raise GeometryError(
            f"{b.path}: shape {b.shape} differs from {a.path} shape {a.shape}; {what}"
        )
    if not np.allclose(a.spacing, b.spacing, rtol=_SPACING_RTOL, atol=1e-4):
        raise GeometryError(
            f"{b.path}: spacing {tuple(round(s, 4) for s in b.spacing)} mm differs from "
            f"{a.path} spacing {tuple(round(s, 4) for s in a.spacing)} mm; {what}"
        )


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise MissingDataError(f"{path}: expected the folder {what}, but it does not exist")
    return path


# ---------------------------------------------------------------- base class


class _Dataset:
    """Index at construction, load on ``__getitem__``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        _require_dir(self.root, f"of {type(self).__name__} (the data set root)")
        self._entries = self._index()
        if not self._entries:
            raise MissingDataError(f"{self.root}: no case found; expected {self._expected()}")
        self._by_name = {e.name: i for i, e in enumerate(self._entries)}

    # subclasses
    def _index(self) -> list[_Entry]:
        raise NotImplementedError

    def _expected(self) -> str:
        raise NotImplementedError

    def _load(self, entry: _Entry) -> DatasetCase:
        raise NotImplementedError

    # public
    @property
    def names(self) -> list[str]:
        """Case names, in order."""
        return [e.name for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, key: int | str) -> DatasetCase:
        if isinstance(key, str):
            if key not in self._by_name:
                raise KeyError(f"no case {key!r} in {self.root}; cases: {self.names[:5]} ...")
            key = self._by_name[key]
        return self._load(self._entries[key])

    def __iter__(self) -> Iterator[DatasetCase]:
        for entry in self._entries:
            yield self._load(entry)

    def cases(self) -> Iterator[DatasetCase]:
        """Every case, loaded one at a time."""
        return iter(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r}, {len(self)} cases)"


def _number(name: str) -> int:
    found = re.findall(r"\d+", name)
    return int(found[-1]) if found else -1


def _load_sequences(
    name: str,
    entry: _Entry,
    sequences: Mapping[str, str],
    codes: Mapping[int, int],
    aligned: bool,
    shared_label: str | None = None,
    expect_ndim: int = 3,
) -> DatasetCase:
    """Read images (and labels) of ``entry``; ``sequences`` maps package key -> file tag."""
    images, labels, spacing, scribbles = {}, {}, {}, {}
    first: NiftiImage | None = None
    shared: np.ndarray | None = None
    shared_img: NiftiImage | None = None
    if shared_label is not None:
        shared_img = _read(entry.files[shared_label], expect_ndim, "label map")
        shared = _map_labels(shared_img.array, codes, entry.files[shared_label])
    for key, tag in sequences.items():
        img = _read(entry.files[key], expect_ndim, f"{tag} image of {name}")
        if aligned and first is not None:
            _check_same_grid(first, img, "the sequences of this data set are pre-aligned")
        first = first or img
        images[key] = img.array.astype(np.float32)
        spacing[key] = img.spacing
        if shared is not None and shared_img is not None:
            _check_same_grid(img, shared_img, "image and label must share the voxel grid")
            labels[key] = shared
        if f"{key}_label" in entry.files:
            path = entry.files[f"{key}_label"]
            lab = _read(path, expect_ndim, f"{tag} label map of {name}")
            _check_same_grid(img, lab, "image and label must share the voxel grid")
            labels[key] = _map_labels(lab.array, codes, path)
        if f"{key}_scribble" in entry.files:
            path = entry.files[f"{key}_scribble"]
            scr = _read(path, expect_ndim, f"{tag} scribbles of {name}")
            _check_same_grid(img, scr, "image and scribbles must share the voxel grid")
            scribbles[key] = _map_labels(scr.array, SCRIBBLE_CODES, path)
    return DatasetCase(
        name=name,
        images=images,
        labels=labels,
        spacing=spacing,
        paths=dict(entry.files),
        scribbles=scribbles,
        info=dict(entry.info),
    )


# ---------------------------------------------------------------- MS-CMRSeg 2019


class MSCMRSeg(_Dataset):
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

    def _index(self) -> list[_Entry]:
        return self._index_challenge() if self.layout == "challenge" else self._index_cyclemix()

    def _index_challenge(self) -> list[_Entry]:
        folder = self.root / "c0t2lge"
        patients = sorted(
            {
                m.group(1)
                for p in folder.glob("patient*_*.nii*")
                if (m := re.match(r"(patient\d+)_(C0|T2|LGE)\.nii(\.gz)?$", p.name))
            },
            key=_number,
        )
        entries = []
        for patient in patients:
            files: dict[str, Path] = {}
            for key, tag in self.SEQUENCES.items():
                path = _find(folder, f"{patient}_{tag}")
                if path is None:
                    raise MissingDataError(
                        f"{folder / (patient + '_' + tag + '.nii.gz')}: expected the {tag} image "
                        f"of {patient} (MS-CMRSeg ships C0, T2 and LGE for every patient)"
                    )
                files[key] = path
                label = _find(self.root / self.LABEL_DIRS[key], f"{patient}_{tag}_manual")
                if label is not None:
                    files[f"{key}_label"] = label
            entries.append(_Entry(patient, files))
        return entries

    def _index_cyclemix(self) -> list[_Entry]:
        split_dir = _require_dir(self.root / self.split, f"{self.split}/ of the CycleMix layout")
        images = _require_dir(split_dir / "images", "images/ (subject{N}_DE.nii.gz)")
        labels = split_dir / "labels"
        entries = []
        for path in sorted(images.glob("subject*_DE.nii*"), key=lambda p: _number(p.name)):
            name = path.name.split(".nii")[0]
            files = {"lge": path}
            manual = _find(labels, f"{name}_manual")
            scribble = _find(labels, f"{name}_scribble")
            if manual is not None:
                files["lge_label"] = manual
            if scribble is not None:
                files["lge_scribble"] = scribble
            if manual is None and scribble is None and labels.is_dir():
                raise MissingDataError(
                    f"{labels / (name + '_manual.nii.gz')}: expected the label (or "
                    f"{name}_scribble.nii.gz) of {path.name}"
                )
            entries.append(_Entry(name, files, {"split": self.split}))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        if self.layout == "challenge":
            return _load_sequences(entry.name, entry, self.SEQUENCES, MSCMR_CODES, aligned=False)
        return _load_sequences(
            entry.name, entry, {"lge": "DE"}, MSCMR_CYCLEMIX_CODES, aligned=False
        )


def _find(folder: Path, stem: str) -> Path | None:
    """``folder/stem.nii.gz`` or ``folder/stem.nii``, whichever exists."""
    for ext in (".nii.gz", ".nii"):
        path = folder / f"{stem}{ext}"
        if path.is_file():
            return path
    return None


# ---------------------------------------------------------------- MyoPS 2020


class MyoPS2020(_Dataset):
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

    def _index(self) -> list[_Entry]:
        folder_name, prefix = (
            ("train25", "myops_training") if self.split == "train" else ("test20", "myops_test")
        )
        folder = _require_dir(self.root / folder_name, f"{folder_name}/ ({prefix}_N_C0.nii.gz)")
        gd = self.root / "train25_myops_gd"
        if self.split == "train":
            _require_dir(gd, "train25_myops_gd/ (myops_training_N_gd.nii.gz)")
        names = sorted(
            {
                m.group(1)
                for p in folder.iterdir()
                if (m := re.match(rf"({prefix}_\d+)_(C0|DE|T2)\.nii(\.gz)?$", p.name))
            },
            key=_number,
        )
        entries = []
        for name in names:
            files: dict[str, Path] = {}
            for key, tag in self.SEQUENCES.items():
                path = _find(folder, f"{name}_{tag}")
                if path is None:
                    raise MissingDataError(
                        f"{folder / (name + '_' + tag + '.nii.gz')}: expected the {tag} image "
                        f"of {name} (MyoPS ships C0, DE and T2 for every case)"
                    )
                files[key] = path
            if self.split == "train":
                label = _find(gd, f"{name}_gd")
                if label is None:
                    raise MissingDataError(
                        f"{gd / (name + '_gd.nii.gz')}: expected the label map of {name}"
                    )
                files["gd"] = label
            entries.append(_Entry(name, files, {"split": self.split}))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        return _load_sequences(
            entry.name,
            entry,
            self.SEQUENCES,
            MYOPS_CODES,
            aligned=True,
            shared_label="gd" if "gd" in entry.files else None,
        )


# ---------------------------------------------------------------- ACDC


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
            try:
                info[key] = float(info[key])
            except ValueError:
                pass
    if "NbFrame" in info and str(info["NbFrame"]).isdigit():
        info["NbFrame"] = int(info["NbFrame"])
    return info


class ACDC(_Dataset):
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

    def _index(self) -> list[_Entry]:
        entries = []
        for folder in sorted(self.root.glob("patient*")):
            if not folder.is_dir():
                continue
            info = _parse_info_cfg(folder / "Info.cfg")
            for phase in ("ED", "ES"):
                stem = f"{folder.name}_frame{info[phase]:02d}"
                image = _find(folder, stem)
                if image is None:
                    raise MissingDataError(
                        f"{folder / (stem + '.nii.gz')}: expected the {phase} frame named in "
                        f"{folder / 'Info.cfg'}"
                    )
                files = {"bssfp": image}
                for suffix, key in (("gt", "bssfp_label"), ("scribble", "bssfp_scribble")):
                    path = _find(folder, f"{stem}_{suffix}")
                    if path is not None:
                        files[key] = path
                meta = {k: v for k, v in info.items()}
                meta.update(phase=phase, frame=info[phase], patient=folder.name)
                entries.append(_Entry(f"{folder.name}_{phase}", files, meta))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        return _load_sequences(entry.name, entry, {"bssfp": "cine"}, ACDC_CODES, aligned=False)


# ---------------------------------------------------------------- MM-WHS


class MMWHS(_Dataset):
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

    def _index(self) -> list[_Entry]:
        tag = f"{self.modality}_{self.split}"
        folder = _require_dir(self.root / tag, f"{tag}/ ({tag}_N_image.nii.gz)")
        entries = []
        for path in sorted(
            folder.glob(f"{tag}_*_image.nii*"), key=lambda p: _number(p.name.replace("_image", ""))
        ):
            name = path.name.split("_image")[0]
            files = {self.modality: path}
            label = _find(folder, f"{name}_label")
            if label is None and self.split == "train":
                raise MissingDataError(
                    f"{folder / (name + '_label.nii.gz')}: expected the label of {path.name}"
                )
            if label is not None:
                files[f"{self.modality}_label"] = label
            entries.append(_Entry(name, files, {"modality": self.modality}))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        return _load_sequences(
            entry.name, entry, {self.modality: self.modality.upper()}, WHS_CODES, aligned=False
        )


class MMWHS2D(_Dataset):
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

    def _index(self) -> list[_Entry]:
        base = _require_dir(self.root / self.folder, f"{self.folder}/ (Images/, Label/)")
        images = _require_dir(base / "Images", "Images/ (img*.nii.gz)")
        entries = []
        for path in sorted(images.glob("img*.nii*")):
            files = {self.modality: path}
            label = base / "Label" / path.name.replace("img", "lab", 1)
            if label.is_file():
                files[f"{self.modality}_label"] = label
            elif self.labelled:
                raise MissingDataError(f"{label}: expected the label of {path}")
            entries.append(_Entry(path.name.split(".nii")[0], files))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        return _load_sequences(
            entry.name,
            entry,
            {self.modality: self.modality.upper()},
            WHS_CODES,
            aligned=False,
            expect_ndim=2,
        )


# ---------------------------------------------------------------- LAScarQS 2022


class LAScarQS(_Dataset):
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

    def _index(self) -> list[_Entry]:
        folder = _require_dir(self.root / self.split, f"{self.split}/ (one folder per case)")
        entries = []
        for case in sorted(
            (p for p in folder.iterdir() if p.is_dir()), key=lambda p: (_number(p.name), p.name)
        ):
            files: dict[str, Path] = {}
            needed = [("lge", "enhanced"), ("atrium", "atriumSegImgMO")]
            if self.task == 1:
                needed.append(("scar", "scarSegImgM"))
            for key, stem in needed:
                path = _find(case, stem)
                if path is None:
                    raise MissingDataError(
                        f"{case / (stem + '.nii.gz')}: expected in every task {self.task} case"
                    )
                files[key] = path
            entries.append(_Entry(case.name, files, {"task": self.task}))
        return entries

    def _load(self, entry: _Entry) -> DatasetCase:
        img = _read(entry.files["lge"], 3, f"LGE image of {entry.name}")
        atrium = _read(entry.files["atrium"], 3, f"LA cavity label of {entry.name}")
        _check_same_grid(img, atrium, "image and label must share the voxel grid")
        codes = {v: (LA_BLOOD if v else 0) for v in LASCARQS_ATRIUM_CODES}
        labels = _map_labels(atrium.array, codes, entry.files["atrium"])
        if "scar" in entry.files:
            scar = _read(entry.files["scar"], 3, f"scar label of {entry.name}")
            _check_same_grid(img, scar, "image and scar label must share the voxel grid")
            values = set(np.unique(scar.array).round().astype(int).tolist())
            if values & {421, 422}:
                scar_codes = {0: 0, 421: LA_WALL, 422: LA_SCAR}
            else:
                scar_codes = {0: 0, 1: LA_SCAR, 255: LA_SCAR}
            scar_map = _map_labels(scar.array, scar_codes, entry.files["scar"])
            labels[scar_map > 0] = scar_map[scar_map > 0]
        return DatasetCase(
            name=entry.name,
            images={"lge": img.array.astype(np.float32)},
            labels={"lge": labels},
            spacing={"lge": img.spacing},
            paths=dict(entry.files),
            info=dict(entry.info),
        )

"""What every loader shares: the case record, the index-then-load base class, file look-ups."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDataError

__all__ = ["DatasetCase", "Entry", "find", "number", "require_dir"]


@dataclass
class DatasetCase:
    """One case read from disk.

    Attributes:
        name: Case identifier (e.g. ``"patient001_ED"``, ``"myops_training_101"``).
        images: Sequence or modality (``"bssfp"``, ``"t2"``, ``"lge"``, ``"ct"``, ``"mr"``) ->
            ``float32 (Z, Y, X)`` (``(Y, X)`` for the 2D MM-WHS slices).
        labels: Same keys -> ``uint8`` label map in package codes, on the image's voxel grid
            (a label file stored in another orientation is reoriented onto it); a key is absent
            when the data set has no label for that image (test sets, unlabelled sequences).
        spacing: Same keys -> voxel size in mm, array order.
        paths: ``key`` -> image file, ``key + "_label"`` / ``key + "_scribble"`` -> label files.
        scribbles: Same keys -> ``uint8`` scribbles (package codes, 255 = not annotated).
        info: Extra facts (ACDC ``Info.cfg`` fields, the frame, the split ...).
        affine: Same keys -> ``(4, 4)`` voxel-to-world matrix in mm of the image (nibabel's
            ``(i, j, k)`` = ``(x, y, z)`` order, i.e. the array axes reversed); empty for cases
            built by hand. Use it to bring two sequences into one space
            (:meth:`resampled`).
    """

    name: str
    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    spacing: dict[str, tuple[float, ...]]
    paths: dict[str, Path]
    scribbles: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    affine: dict[str, np.ndarray] = field(default_factory=dict)

    def resampled(self, key: str, like: str, *, labels: bool = False) -> np.ndarray:
        """Image (or label map) ``key`` resampled onto the grid of ``like``, by world position.

        Linear interpolation for images, nearest neighbour for labels; voxels of ``like`` outside
        ``key``'s field of view are 0.

        Args:
            key: The sequence to move, e.g. ``"t2"``.
            like: The sequence whose grid to use, e.g. ``"bssfp"``.
            labels: Resample ``labels[key]`` instead of ``images[key]``.

        Returns:
            ``float32`` image or ``uint8`` labels of ``images[like].shape``.
        """
        from .geometry import resample_to

        if key not in self.affine or like not in self.affine:
            raise KeyError(f"{self.name}: no affine for {key!r} or {like!r}; have {self.affine}")
        source = self.labels[key] if labels else self.images[key]
        out = resample_to(
            source,
            self.affine[key],
            self.images[like].shape,
            self.affine[like],
            order=0 if labels else 1,
        )
        return out.astype(np.uint8 if labels else np.float32)


@dataclass
class Entry:
    """A case found when indexing: its name, files and facts, read only when loaded."""

    name: str
    files: dict[str, Path]
    info: dict[str, Any] = field(default_factory=dict)


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else a ``MissingDataError`` saying what it should hold."""
    if not path.is_dir():
        raise MissingDataError(f"{path}: expected the folder {what}, but it does not exist")
    return path


def number(name: str) -> int:
    """The last number in a name (for natural sorting), -1 if none."""
    found = re.findall(r"\d+", name)
    return int(found[-1]) if found else -1


def find(folder: Path, stem: str) -> Path | None:
    """``folder/stem.nii.gz`` or ``folder/stem.nii``, whichever exists."""
    for ext in (".nii.gz", ".nii"):
        path = folder / f"{stem}{ext}"
        if path.is_file():
            return path
    return None


class Dataset:
    """Index at construction, load on ``__getitem__``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        require_dir(self.root, f"of {type(self).__name__} (the data set root)")
        self._entries = self._index()
        if not self._entries:
            raise MissingDataError(f"{self.root}: no case found; expected {self._expected()}")
        self._by_name = {e.name: i for i, e in enumerate(self._entries)}

    # subclasses
    def _index(self) -> list[Entry]:
        raise NotImplementedError

    def _expected(self) -> str:
        raise NotImplementedError

    def _load(self, entry: Entry) -> DatasetCase:
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

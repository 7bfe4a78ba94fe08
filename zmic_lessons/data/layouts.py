"""Phantom cases written in the file layouts of the real data sets.

``write_phantom_dataset("myops", out, cases=4, seed=0)`` writes four cardiac phantom cases as
``out/MyoPS2020/train25/myops_training_101_C0.nii.gz`` ... with MyoPS label values, so that the
loader of :mod:`zmic_lessons.data.datasets` reads them exactly as it would read the real data.
This is how to check the path from files to arrays without the real data (the CLI:
``zmic-lessons phantom LAYOUT --cases N --out DIR``), and how a chapter can run on "real-layout"
data in tests.

Layouts (returned root -> loader):

* ``"mscmrseg"``: ``out/C0LET2_nii45_for_challenge19`` -> ``MSCMRSeg``. C0, T2 and LGE of each
  case in their own (misaligned) spaces; T2 keeps only the slices it covers (fewer slices, as in
  the real data); labels 200/500/600 (scar and oedema count as myocardium). Every file's
  affine is diagonal with the origin at 0: the misalignment is in the voxels (as motion between
  breath-holds is in real data), and the T2 file's kept slices are stacked from z = 0, so its
  affine does not place them where they were in the bSSFP volume (do not resample the phantom's
  T2 onto bSSFP by world position and expect the slices to match). With
  ``native_resolution=True`` each sequence is acquired at its own MS-CMRSeg resolution
  (:mod:`zmic_lessons.data.native`) and every file carries its own shape and true affine:
  then the sequences meet through their affines (``DatasetCase.resampled``).
* ``"myops"``: ``out/MyoPS2020`` -> ``MyoPS2020``. Aligned C0/DE/T2, labels with
  1220 oedema and 2221 scar.
* ``"acdc"``: ``out/ACDC`` -> ``ACDC``. ``training/patientNNN/`` with ``Info.cfg``, ED and ES
  frames, ``_gt`` labels (1 RV, 2 myo, 3 LV), ``_scribble`` files (4 = not annotated) and a
  ``_4d`` file. The phantom does not beat: ED and ES show the same anatomy.
* ``"mmwhs"``: ``out/MM-WHS`` -> ``MMWHS`` (``ct_train``/``mr_train``, labels 500/205/600; the
  phantom has no atria or great vessels labelled), plus ``out/CT_MR_2D_Dataset_DA`` ->
  ``MMWHS2D`` (2D slices, ``Images/img*`` and ``Label/lab*``). CT is in HU, MR is the bSSFP.
* ``"lascarqs"``: ``out/LAScarQS2022`` -> ``LAScarQS``. ``task1/train_data/train_N/`` with
  ``enhanced``, ``atriumSegImgMO`` (LA cavity = 1) and ``scarSegImgM`` (scar = 1), and
  ``task2/train_data/train_N/`` without scar. The LA wall has no label in these files.

:func:`phantom_cases` returns the cases as the loaders should read them back (package codes),
which is what the round-trip tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import affine_from_spacing, atomic_write_bytes, write_nifti
from .atrial import LA_BLOOD, LA_SCAR, simulate_atrium
from .datasets import DatasetCase
from .labels import LV, MYO, RV, merge_pathology, to_acdc, to_mscmr, to_myops

__all__ = ["LAYOUTS", "phantom_cases", "write_phantom_dataset"]

LAYOUTS: tuple[str, ...] = ("mscmrseg", "myops", "acdc", "mmwhs", "lascarqs")

_DEFAULT_SIZE = {"mscmrseg": 128, "myops": 128, "acdc": 128, "mmwhs": 128, "lascarqs": 64}
_DEFAULT_SLICES = {"mscmrseg": 8, "myops": 5, "acdc": 8, "mmwhs": 12}


@dataclass
class _File:
    """One file to write: path relative to ``out``, array in (z, y, x), spacing, dtype."""

    rel: str
    array: np.ndarray
    spacing: tuple[float, ...]
    dtype: type = np.float32
    affine: np.ndarray | None = None


def _case_seed(seed: int, index: int) -> int:
    return int(seed) * 1000 + index


def _cardiac(layout: str, seed: int, size: int, n_slices: int, **kwargs):
    from .cardiac import simulate_case  # heavy import, only when a cardiac layout is asked

    return simulate_case(seed, size=size, n_slices=n_slices, **kwargs)


def _mscmrseg(i: int, seed: int, size: int, n_slices: int):
    from .acquisition import misalign

    case = _cardiac("mscmrseg", seed, size, n_slices, pixel_mm=1.25, slice_mm=10.0)
    mis = misalign(case, seed, missing={"t2": 0.4})
    name = f"patient{i + 1}"
    images, labels, spacing, files = {}, {}, {}, []
    for key, tag, gt in (("bssfp", "C0", "c0gt"), ("t2", "T2", "t2gt"), ("lge", "LGE", "lgegt")):
        keep = mis.coverage[key]
        img = mis.images[key][keep].astype(np.float32)
        lab = merge_pathology(mis.labels[key][keep])
        images[key], labels[key], spacing[key] = img, lab, tuple(mis.spacing)
        files.append(_File(f"c0t2lge/{name}_{tag}.nii.gz", img, mis.spacing))
        files.append(
            _File(f"{gt}/{name}_{tag}_manual.nii.gz", to_mscmr(lab), mis.spacing, np.uint16)
        )
    return {"mscmrseg": DatasetCase(name, images, labels, spacing, {})}, files


def _mscmrseg_native(i: int, seed: int, size: int, n_slices: int):
    """MS-CMRSeg files with each sequence at its own resolution, shape and affine.

    :func:`~zmic_lessons.data.native.misalign_native` with :data:`~.native.MSCMR_PROTOCOL`
    (bSSFP 1.25 mm x 10 mm, T2 1.35 mm x 16 mm, LGE 0.75 mm x 5 mm): every file carries its
    native affine (x, y from the field of view's corner, z the depth below the LV base), so
    the sequences are brought together through their affines, never by index.
    """
    from .native import misalign_native

    case = _cardiac("mscmrseg", seed, size, n_slices, pixel_mm=1.25, slice_mm=10.0)
    mis = misalign_native(case, seed)
    name = f"patient{i + 1}"
    images, labels, spacing, affines, files = {}, {}, {}, {}, []
    for key, tag, gt in (("bssfp", "C0", "c0gt"), ("t2", "T2", "t2gt"), ("lge", "LGE", "lgegt")):
        nat = mis.native[key]
        img, lab = nat.image.astype(np.float32), merge_pathology(nat.labels)
        images[key], labels[key], spacing[key], affines[key] = img, lab, nat.spacing, nat.affine
        files.append(_File(f"c0t2lge/{name}_{tag}.nii.gz", img, nat.spacing, affine=nat.affine))
        files.append(
            _File(f"{gt}/{name}_{tag}_manual.nii.gz", to_mscmr(lab), nat.spacing, np.uint16,
                  nat.affine)
        )  # fmt: skip
    case_out = DatasetCase(name, images, labels, spacing, {}, affine=affines)
    return {"mscmrseg": case_out}, files


def _myops(i: int, seed: int, size: int, n_slices: int):
    case = _cardiac("myops", seed, size, n_slices, pixel_mm=1.25, slice_mm=10.0)
    name = f"myops_training_{101 + i}"
    images, labels, spacing, files = {}, {}, {}, []
    for key, tag in (("bssfp", "C0"), ("lge", "DE"), ("t2", "T2")):
        images[key] = case.images[key].astype(np.float32)
        labels[key], spacing[key] = case.labels, tuple(case.spacing)
        files.append(_File(f"train25/{name}_{tag}.nii.gz", images[key], case.spacing))
    files.append(
        _File(f"train25_myops_gd/{name}_gd.nii.gz", to_myops(case.labels), case.spacing, np.uint16)
    )
    return {"myops": DatasetCase(name, images, labels, spacing, {})}, files


def _acdc_scribble_file(scribbles: np.ndarray) -> np.ndarray:
    """Package-coded scribbles -> ACDC/MAAG values (0 bg, 1 RV, 2 myo, 3 LV, 4 none)."""
    table = np.full(256, 4, dtype=np.uint8)
    table[[0, RV, MYO, LV]] = [0, 1, 2, 3]
    return table[scribbles]


def _acdc(i: int, seed: int, size: int, n_slices: int):
    from .scribbles import scribbles_from_labels

    case = _cardiac("acdc", seed, size, n_slices, pixel_mm=1.5, slice_mm=10.0)
    patient = f"patient{i + 1:03d}"
    labels = merge_pathology(case.labels)
    scribbles = scribbles_from_labels(labels, seed, classes=(0, LV, MYO, RV))
    image = case.images["bssfp"].astype(np.float32)
    sp = tuple(case.spacing)
    folder = f"training/{patient}"
    group = "MINF" if (case.labels >= 4).any() else "NOR"
    files, out = [], {}
    for phase, frame in (("ED", 1), ("ES", 2)):
        stem = f"{folder}/{patient}_frame{frame:02d}"
        files.append(_File(f"{stem}.nii.gz", image, sp))
        files.append(_File(f"{stem}_gt.nii.gz", to_acdc(labels), sp, np.uint8))
        files.append(_File(f"{stem}_scribble.nii.gz", _acdc_scribble_file(scribbles), sp, np.uint8))
        out[f"{patient}_{phase}"] = DatasetCase(
            f"{patient}_{phase}",
            {"bssfp": image},
            {"bssfp": labels},
            {"bssfp": sp},
            {},
            scribbles={"bssfp": scribbles},
            info={"ED": 1, "ES": 2, "Group": group},
        )
    files.append(_File(f"{folder}/{patient}_4d.nii.gz", np.stack([image, image]), sp))
    cfg = f"ED: 1\nES: 2\nGroup: {group}\nHeight: 175.0\nNbFrame: 2\nWeight: 75.0\n"
    files.append(_File(f"{folder}/Info.cfg", np.array(cfg), ()))
    return {"acdc": list(out.values())}, files


def _whs_file(labels: np.ndarray) -> np.ndarray:
    """Merged cardiac labels (0-3) -> MM-WHS values (500 LV, 205 myo, 600 RV)."""
    table = np.zeros(256, dtype=np.uint16)
    table[[LV, MYO, RV]] = [500, 205, 600]
    return table[labels]


def _mmwhs(i: int, seed: int, size: int, n_slices: int):
    from .domains import render_ct

    case = _cardiac("mmwhs", seed, size, n_slices, pixel_mm=1.0, slice_mm=2.0)
    labels = merge_pathology(case.labels)
    ct = render_ct(case, seed).astype(np.float32)
    mr = case.images["bssfp"].astype(np.float32)
    sp = tuple(case.spacing)
    num = 1001 + i
    files, views = [], {}
    for mod, image in (("ct", ct), ("mr", mr)):
        name = f"{mod}_train_{num}"
        files.append(_File(f"MM-WHS/{mod}_train/{name}_image.nii.gz", image, sp))
        files.append(
            _File(f"MM-WHS/{mod}_train/{name}_label.nii.gz", _whs_file(labels), sp, np.uint16)
        )
        views[mod] = DatasetCase(name, {mod: image}, {mod: labels}, {mod: sp}, {})
        slices = []
        for z in range(image.shape[0]):
            stem = f"{num}_slice{z:02d}"
            base = f"CT_MR_2D_Dataset_DA/{mod.upper()}_withGT"
            files.append(_File(f"{base}/Images/img_{stem}.nii.gz", image[z], sp[1:]))
            files.append(
                _File(f"{base}/Label/lab_{stem}.nii.gz", _whs_file(labels[z]), sp[1:], np.uint16)
            )
            slices.append(
                DatasetCase(f"img_{stem}", {mod: image[z]}, {mod: labels[z]}, {mod: sp[1:]}, {})
            )
        views[f"{mod}2d"] = slices
    return views, files


def _lascarqs(i: int, seed: int, size: int, n_slices: int):
    del n_slices
    views, files = {}, []
    for task in (1, 2):
        atrium = simulate_atrium(seed + 500 * (task - 1), shape=size, spacing_mm=1.25)
        name = f"train_{i + 1}"
        base = f"task{task}/train_data/{name}"
        sp = atrium.spacing
        cavity = atrium.labels == LA_BLOOD
        files.append(_File(f"{base}/enhanced.nii.gz", atrium.image, sp))
        files.append(_File(f"{base}/atriumSegImgMO.nii.gz", cavity.astype(np.uint8), sp, np.uint8))
        expected = np.where(cavity, LA_BLOOD, 0).astype(np.uint8)
        if task == 1:
            scar = atrium.labels == LA_SCAR
            files.append(_File(f"{base}/scarSegImgM.nii.gz", scar.astype(np.uint8), sp, np.uint8))
            expected[scar] = LA_SCAR
        views[f"task{task}"] = DatasetCase(
            name, {"lge": atrium.image}, {"lge": expected}, {"lge": sp}, {}
        )
    return views, files


_BUILDERS = {
    "mscmrseg": (_mscmrseg, "C0LET2_nii45_for_challenge19"),
    "myops": (_myops, "MyoPS2020"),
    "acdc": (_acdc, "ACDC"),
    "mmwhs": (_mmwhs, ""),
    "lascarqs": (_lascarqs, "LAScarQS2022"),
}


def _build(
    layout: str,
    cases: int,
    seed: int,
    size: int | None,
    n_slices: int | None,
    native_resolution: bool = False,
):
    if layout not in _BUILDERS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if cases < 1:
        raise ValueError(f"cases must be at least 1, got {cases}")
    if native_resolution and layout != "mscmrseg":
        raise ValueError(f"native_resolution is for the 'mscmrseg' layout, not {layout!r}")
    builder, _ = _BUILDERS[layout]
    builder = _mscmrseg_native if native_resolution else builder
    size = size or _DEFAULT_SIZE[layout]
    n_slices = n_slices or _DEFAULT_SLICES.get(layout, 1)
    views: dict[str, list[DatasetCase]] = {}
    files: list[_File] = []
    for i in range(cases):
        case_views, case_files = builder(i, _case_seed(seed, i), size, n_slices)
        for key, value in case_views.items():
            views.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        files.extend(case_files)
    return views, files


def phantom_cases(
    layout: str,
    cases: int,
    seed: int,
    *,
    size: int | None = None,
    n_slices: int | None = None,
    native_resolution: bool = False,
) -> dict[str, list[DatasetCase]]:
    """The cases :func:`write_phantom_dataset` writes, as the loaders should read them back.

    Returns:
        View name -> cases. Views: ``"mscmrseg"``, ``"myops"``, ``"acdc"`` (two per patient,
        ED and ES), ``"ct"``/``"mr"``/``"ct2d"``/``"mr2d"`` for MM-WHS, ``"task1"``/``"task2"``
        for LAScarQS. Labels are in package codes, reduced to what the files can hold (no
        pathology in MS-CMRSeg/ACDC/MM-WHS, no LA wall in LAScarQS).
    """
    return _build(layout, cases, seed, size, n_slices, native_resolution)[0]


def _targets(layout: str, out: Path, files: list[_File]) -> tuple[Path, list[Path]]:
    root = out / _BUILDERS[layout][1] if _BUILDERS[layout][1] else out
    return root, [root / f.rel for f in files]


def write_phantom_dataset(
    layout: str,
    out: str | Path,
    cases: int,
    seed: int,
    *,
    size: int | None = None,
    n_slices: int | None = None,
    overwrite: bool = False,
    native_resolution: bool = False,
) -> Path:
    """Write ``cases`` phantom cases in the file layout of a real data set.

    Nothing is overwritten unless asked: if any file this would write already exists (e.g.
    ``out`` is the folder of a real download, whose files have the same names), it raises
    before writing anything. Every file is written atomically (:func:`io.write_nifti`).

    Args:
        layout: One of :data:`LAYOUTS`.
        out: Output folder (created).
        cases: Number of cases (patients).
        seed: Base seed; case ``i`` uses ``seed * 1000 + i``.
        size: In-plane size (cardiac) or cube side (atrium); default realistic sizes.
        n_slices: Slices per cardiac volume.
        overwrite: Replace files that already exist.
        native_resolution: ``"mscmrseg"`` only: each sequence at its own MS-CMRSeg
            resolution, shape and affine (:mod:`zmic_lessons.data.native`); default off.

    Returns:
        The folder to give to the matching loader (see the module docstring).

    Raises:
        FileExistsError: A file to write exists and ``overwrite`` is False (the message names
            it and how many others collide).
    """
    out = Path(out).expanduser()
    _, files = _build(layout, cases, seed, size, n_slices, native_resolution)
    root, paths = _targets(layout, out, files)
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} already exists ({len(existing)} of the {len(paths)} files to write "
            f"exist); the phantom would overwrite them: write to a new folder, or pass "
            f"overwrite=True (CLI: --force)"
        )
    for f, path in zip(files, paths, strict=True):
        if path.name == "Info.cfg":
            atomic_write_bytes(path, str(f.array).encode())
            continue
        array = np.asarray(f.array).astype(f.dtype)
        affine = f.affine if f.affine is not None else affine_from_spacing(f.spacing)
        write_nifti(path, array, affine=affine if f.spacing else None)
    return root / "MM-WHS" if layout == "mmwhs" else root

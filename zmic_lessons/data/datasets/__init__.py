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

**Geometry.** Every case carries the affine of each image (``case.affine[key]``, voxel -> world
mm). Files are paired by physical position (:mod:`.geometry`): a label (or a pre-aligned
sequence) on the same grid pairs as it is; one that holds the same voxel centres in another axis
order or direction (stored LPS beside an RAS image) is reoriented exactly; anything else (another
origin, spacing, shape or rotation) raises a ``GeometryError`` saying what differs. To bring
unaligned sequences into one space, use ``case.resampled(key, like)`` or :func:`resample_to`.

Every problem raises a :class:`~zmic_lessons.data.errors.DataError` naming the file: a missing
folder or file, an unknown label value, an empty label map, image/label grids that differ, a 4D
file where 3D is expected, NaN or inf, a constant (blank) image or an MR image with no positive
voxel, a corrupt gzip (CRC checked), an inconsistent header (zero or NaN pixdim, pixdim against
the sform, wrong units, sform against qform), an RGB image, a malformed ``Info.cfg``.

The loaders live in one module each (``mscmrseg``, ``myops``, ``acdc``, ``mmwhs``,
``lascarqs``); ``base`` holds :class:`DatasetCase` and the base class, ``reading`` the checks,
``geometry`` the grids, ``codes`` the label tables. Every public name is importable from here.

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

from .acdc import ACDC
from .base import DatasetCase
from .codes import (
    ACDC_CODES,
    LASCARQS_ATRIUM_CODES,
    MSCMR_CODES,
    MSCMR_CYCLEMIX_CODES,
    MYOPS_CODES,
    SCRIBBLE_CODES,
    WHS_CODES,
    WHS_LABELS,
)
from .geometry import grid_difference, reorient_exact, resample_to, same_grid
from .lascarqs import LAScarQS
from .mmwhs import MMWHS, MMWHS2D
from .mscmrseg import MSCMRSeg
from .myops import MyoPS2020

__all__ = [
    "ACDC",
    "ACDC_CODES",
    "LASCARQS_ATRIUM_CODES",
    "MSCMR_CODES",
    "MSCMR_CYCLEMIX_CODES",
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
    "grid_difference",
    "reorient_exact",
    "resample_to",
    "same_grid",
]

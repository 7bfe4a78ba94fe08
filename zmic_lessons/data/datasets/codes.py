"""Label codes of the real data sets: file value -> package code, per data set."""

from __future__ import annotations

from .. import labels
from ..atrial import LA_BLOOD
from ..labels import BACKGROUND, LV, MYO, RV, SCAR
from ..labels import EDEMA as OEDEMA
from ..scribbles import UNLABELLED

__all__ = [
    "ACDC_CODES",
    "LASCARQS_ATRIUM_CODES",
    "MSCMR_CODES",
    "MSCMR_CYCLEMIX_CODES",
    "MYOPS_CODES",
    "SCRIBBLE_CODES",
    "WHS_CODES",
    "WHS_LABELS",
    "lascarqs_atrium_codes",
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


def lascarqs_atrium_codes() -> dict[int, int]:
    """LAScarQS cavity file value -> package code (any accepted non-zero value is the cavity)."""
    return {v: (LA_BLOOD if v else 0) for v in LASCARQS_ATRIUM_CODES}

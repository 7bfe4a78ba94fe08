"""Label codes of the cardiac phantom and their mapping to the challenge conventions.

The phantom uses small consecutive codes (0-5). Scar overrides oedema, so the classes are
disjoint, as in MyoPS 2020. Papillary muscles and trabeculae belong to the LV blood pool (the
ACDC / MS-CMRSeg convention); the thin RV free wall is background, as in the challenges.
"""

from __future__ import annotations

import numpy as np

BACKGROUND, LV, MYO, RV, SCAR, EDEMA = 0, 1, 2, 3, 4, 5

CARDIAC_LABELS: dict[str, int] = {
    "background": BACKGROUND,
    "lv": LV,
    "myo": MYO,
    "rv": RV,
    "scar": SCAR,
    "edema": EDEMA,
}

#: The three sequences of MS-CMRSeg / MyoPS, in the order the phantom renders them.
SEQUENCES: tuple[str, ...] = ("bssfp", "t2", "lge")

#: MyoPS 2020 label values (scar 2221 overrides oedema 1220).
MYOPS_CODES: dict[int, int] = {BACKGROUND: 0, LV: 500, MYO: 200, RV: 600, SCAR: 2221, EDEMA: 1220}

#: MS-CMRSeg 2019 label values (no pathology: scar and oedema count as myocardium).
MSCMR_CODES: dict[int, int] = {BACKGROUND: 0, LV: 500, MYO: 200, RV: 600, SCAR: 200, EDEMA: 200}

#: ACDC label values (1 RV, 2 myocardium, 3 LV).
ACDC_CODES: dict[int, int] = {BACKGROUND: 0, LV: 3, MYO: 2, RV: 1, SCAR: 2, EDEMA: 2}


def myocardium_mask(labels: np.ndarray) -> np.ndarray:
    """The whole myocardium: normal myocardium, scar and oedema.

    Args:
        labels: Integer label map of any shape, codes of :data:`CARDIAC_LABELS`.

    Returns:
        Boolean array of the same shape.
    """
    labels = np.asarray(labels)
    return (labels == MYO) | (labels == SCAR) | (labels == EDEMA)


def merge_pathology(labels: np.ndarray) -> np.ndarray:
    """Anatomy-only labels: scar and oedema become myocardium (codes 0-3 remain).

    Args:
        labels: Integer label map of any shape.

    Returns:
        ``uint8`` array of the same shape with values in {0, 1, 2, 3}.
    """
    out = np.asarray(labels).astype(np.uint8, copy=True)
    out[myocardium_mask(out)] = MYO
    return out


def _remap(labels: np.ndarray, codes: dict[int, int], dtype: type) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.size and labels.max() >= 256:
        raise ValueError(f"labels must use the phantom codes 0-5, got max {labels.max()}")
    table = np.zeros(256, dtype=dtype)
    for src, dst in codes.items():
        table[src] = dst
    return table[labels.astype(np.intp)]


def to_myops(labels: np.ndarray) -> np.ndarray:
    """Map phantom codes to MyoPS 2020 values (500 LV, 600 RV, 200 myo, 1220 oedema, 2221 scar)."""
    return _remap(labels, MYOPS_CODES, np.uint16)


def to_mscmr(labels: np.ndarray) -> np.ndarray:
    """Map phantom codes to MS-CMRSeg 2019 values (500 LV, 600 RV, 200 whole myocardium)."""
    return _remap(labels, MSCMR_CODES, np.uint16)


def to_acdc(labels: np.ndarray) -> np.ndarray:
    """Map phantom codes to ACDC values (1 RV, 2 whole myocardium, 3 LV)."""
    return _remap(labels, ACDC_CODES, np.uint8)

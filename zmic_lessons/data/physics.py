"""MR signal equations and tissue parameters (1.5 T and 3 T) for the cardiac phantoms.

Every grey value the phantoms show comes from these equations, evaluated per pixel on maps
of proton density (PD, relative to water), T1 and T2 (ms); nothing is a hand-picked intensity.

Sequences (magnitude images, slice profile and readout train ignored):

* **bSSFP** (cine, bright blood), on resonance with TE = TR/2::

      S = PD sin(a) (1 - E1) / (1 - (E1 - E2) cos(a) - E1 E2) * exp(-TE/T2),  Ei = exp(-TR/Ti)

* **T2-weighted black-blood STIR** (double inversion for the blood, a third inversion with
  ``TI`` nulling fat)::

      S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2) * (blood suppression)

  The double inversion removes the signal of blood that *moves* between preparation and
  readout; it is modelled by a per-pixel ``flow`` map in [0, 1] (1 = fast flow, signal times
  ``residual``; 0 = stagnant, full signal), which leaves the classic bright slow-flow rim at the
  endocardium.
* **LGE**, inversion recovery with magnitude reconstruction after gadolinium, with TI chosen
  to null remote myocardium::

      S = PD |1 - 2 exp(-TI/T1post) + exp(-RR/T1post)|

  ``ir_signal(..., signed=True)`` gives the phase-sensitive (PSIR) version.

Tissue values follow the research note (Stanisz 2005, de Bazelaire 2004, MRXCAT, post-contrast
T1 from JCMR 2013;15:11), rounded; the 3 T table scales T1 by literature ratios.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

ArrayLike = np.ndarray | float


class Tissue(IntEnum):
    """Tissue classes of the phantoms' tissue maps (finer than the segmentation labels)."""

    AIR = 0
    LUNG = 1
    FAT = 2
    MUSCLE = 3  # skeletal muscle, oesophagus wall, diaphragm
    MYO = 4  # remote (healthy) myocardium, papillary muscles, trabeculae, RV wall
    BLOOD = 5
    LIVER = 6
    MARROW = 7
    BONE = 8  # cortical bone
    FLUID = 9  # CSF, pericardial fluid, gastric fluid
    SCAR = 10
    EDEMA = 11
    MVO = 12  # microvascular obstruction: no gadolinium wash-in, dark core of a scar
    SPLEEN = 13


N_TISSUES = len(Tissue)


@dataclass(frozen=True)
class TissueProperties:
    """Relaxation parameters of one tissue.

    Attributes:
        pd: Proton density relative to water (0-1).
        t1: Native T1 (ms).
        t2: T2 (ms); for lung this is effectively T2* (very short).
        t1_post: T1 about 10-15 min after 0.15 mmol/kg gadolinium (ms), for LGE.
    """

    pd: float
    t1: float
    t2: float
    t1_post: float


#: Tissue parameters at 1.5 T (ms). See the module docstring for sources.
TISSUES_1P5T: dict[Tissue, TissueProperties] = {
    Tissue.AIR: TissueProperties(0.0, 1000.0, 1.0, 1000.0),
    Tissue.LUNG: TissueProperties(0.10, 1200.0, 25.0, 900.0),
    Tissue.FAT: TissueProperties(0.90, 300.0, 70.0, 280.0),
    Tissue.MUSCLE: TissueProperties(0.75, 1000.0, 40.0, 600.0),
    Tissue.MYO: TissueProperties(0.80, 1000.0, 50.0, 500.0),
    Tissue.BLOOD: TissueProperties(0.95, 1500.0, 250.0, 340.0),
    Tissue.LIVER: TissueProperties(0.85, 590.0, 46.0, 300.0),
    Tissue.MARROW: TissueProperties(0.80, 550.0, 50.0, 400.0),
    Tissue.BONE: TissueProperties(0.05, 250.0, 2.0, 250.0),
    Tissue.FLUID: TissueProperties(1.00, 3500.0, 1500.0, 2500.0),
    Tissue.SCAR: TissueProperties(0.85, 1200.0, 65.0, 260.0),
    Tissue.EDEMA: TissueProperties(0.85, 1180.0, 75.0, 420.0),
    Tissue.MVO: TissueProperties(0.85, 1150.0, 45.0, 950.0),
    Tissue.SPLEEN: TissueProperties(0.85, 1060.0, 79.0, 450.0),
}

#: Multipliers from 1.5 T to 3 T for (t1, t2, t1_post); from Stanisz 2005 / de Bazelaire 2004.
_T3_SCALE: dict[Tissue, tuple[float, float, float]] = {
    Tissue.MYO: (1.30, 0.90, 1.15),
    Tissue.BLOOD: (1.30, 0.95, 1.15),
    Tissue.FAT: (1.12, 0.95, 1.05),
    Tissue.MUSCLE: (1.40, 0.80, 1.15),
    Tissue.LIVER: (1.38, 0.90, 1.15),
    Tissue.MARROW: (1.10, 0.95, 1.05),
    Tissue.SCAR: (1.25, 0.90, 1.15),
    Tissue.EDEMA: (1.25, 0.90, 1.15),
    Tissue.MVO: (1.25, 0.90, 1.15),
    Tissue.SPLEEN: (1.28, 0.90, 1.15),
    Tissue.LUNG: (1.10, 0.60, 1.10),
}


def tissue_table(field_t: float = 1.5) -> dict[Tissue, TissueProperties]:
    """Tissue parameters at 1.5 T or 3 T.

    Args:
        field_t: Field strength in tesla; values other than 1.5 and 3.0 are interpolated
            linearly in the T1/T2 scale factors.

    Returns:
        A new dict ``Tissue -> TissueProperties``.
    """
    if not 0.5 <= field_t <= 3.5:
        raise ValueError(f"field_t must be between 0.5 and 3.5 tesla, got {field_t}")
    w = (field_t - 1.5) / 1.5
    table = {}
    for tissue, props in TISSUES_1P5T.items():
        s1, s2, sp = _T3_SCALE.get(tissue, (1.0, 1.0, 1.0))
        table[tissue] = dataclasses.replace(
            props,
            t1=props.t1 * (1 + w * (s1 - 1)),
            t2=props.t2 * (1 + w * (s2 - 1)),
            t1_post=props.t1_post * (1 + w * (sp - 1)),
        )
    return table


def table_arrays(table: dict[Tissue, TissueProperties]) -> dict[str, np.ndarray]:
    """Lookup arrays indexed by tissue code: ``{"pd", "t1", "t2", "t1_post"} -> (N_TISSUES,)``."""
    out = {name: np.zeros(N_TISSUES, np.float32) for name in ("pd", "t1", "t2", "t1_post")}
    for tissue, props in table.items():
        for name in out:
            out[name][int(tissue)] = getattr(props, name)
    return out


# --------------------------------------------------------------------------- signal equations


def bssfp_signal(
    pd: ArrayLike,
    t1: ArrayLike,
    t2: ArrayLike,
    tr: float = 3.0,
    te: float | None = None,
    flip_deg: float = 60.0,
) -> np.ndarray:
    """Steady-state balanced SSFP magnitude on resonance.

    Args:
        pd: Proton density (any shape).
        t1: T1 (ms), broadcastable to ``pd``.
        t2: T2 (ms).
        tr: Repetition time (ms).
        te: Echo time (ms); ``None`` means TR/2.
        flip_deg: Flip angle (degrees).

    Returns:
        Signal relative to a fully relaxed water magnetisation, same shape as the inputs.
    """
    te = tr / 2 if te is None else te
    a = np.deg2rad(flip_deg)
    e1 = np.exp(-tr / np.asarray(t1))
    e2 = np.exp(-tr / np.asarray(t2))
    denom = 1 - (e1 - e2) * np.cos(a) - e1 * e2
    return pd * np.sin(a) * (1 - e1) / denom * np.exp(-te / np.asarray(t2))


def spoiled_gre_signal(
    pd: ArrayLike, t1: ArrayLike, t2s: ArrayLike, tr: float, te: float, flip_deg: float
) -> np.ndarray:
    """Spoiled gradient echo (FLASH) magnitude: ``PD sin a (1-E1)/(1 - cos a E1) exp(-TE/T2*)``."""
    a = np.deg2rad(flip_deg)
    e1 = np.exp(-tr / np.asarray(t1))
    return pd * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1) * np.exp(-te / np.asarray(t2s))


def ir_signal(
    pd: ArrayLike, t1: ArrayLike, ti: float, tr: float, signed: bool = False
) -> np.ndarray:
    """Inversion recovery longitudinal magnetisation at the inversion time.

    ``PD (1 - 2 exp(-TI/T1) + exp(-TR/T1))``; the magnitude unless ``signed`` (PSIR).

    Args:
        pd: Proton density.
        t1: T1 (ms).
        ti: Inversion time (ms).
        tr: Time between inversions (ms), e.g. one RR interval for LGE.
        signed: Keep the sign (phase-sensitive reconstruction).
    """
    t1 = np.asarray(t1)
    mz = pd * (1 - 2 * np.exp(-ti / t1) + np.exp(-tr / t1))
    return mz if signed else np.abs(mz)


def t2_stir_signal(
    pd: ArrayLike,
    t1: ArrayLike,
    t2: ArrayLike,
    ti: float,
    tr: float,
    te: float,
    flow: ArrayLike = 0.0,
    residual: float = 0.06,
) -> np.ndarray:
    """T2-weighted black-blood STIR (triple inversion) turbo spin echo magnitude.

    Args:
        pd, t1, t2: Tissue maps.
        ti: Fat-nulling inversion time (ms), see :func:`ti_null`.
        tr: Repetition time (ms), typically two RR intervals.
        te: Effective echo time (ms).
        flow: Map in [0, 1]; 1 = blood that leaves the slice between preparation and readout.
        residual: Fraction of moving blood signal left after the double inversion.
    """
    s = ir_signal(pd, t1, ti, tr) * np.exp(-te / np.asarray(t2))
    return s * (1 - np.asarray(flow) * (1 - residual))


def ti_null(t1: float, tr: float) -> float:
    """Inversion time (ms) that nulls a tissue of the given T1: ``T1 ln(2 / (1 + exp(-TR/T1)))``."""
    if t1 <= 0 or tr <= 0:
        raise ValueError(f"t1 and tr must be positive, got t1={t1}, tr={tr}")
    return float(t1 * np.log(2.0 / (1.0 + np.exp(-tr / t1))))


def ernst_angle_deg(t1: float, tr: float) -> float:
    """Flip angle (degrees) maximising the spoiled-GRE signal of a tissue of the given T1."""
    return float(np.rad2deg(np.arccos(np.exp(-tr / t1))))


def gd_t1(t1_native: ArrayLike, t1_post: ArrayLike, dose_scale: float = 1.0) -> np.ndarray:
    """Post-contrast T1 for a scaled gadolinium dose (relaxivity is linear in concentration).

    ``1/T1 = 1/T1_native + dose_scale (1/T1_post - 1/T1_native)``.
    """
    r1n = 1.0 / np.asarray(t1_native)
    return 1.0 / (r1n + dose_scale * (1.0 / np.asarray(t1_post) - r1n))


# --------------------------------------------------------------------------- sequence settings


@dataclass(frozen=True)
class BSSFPParams:
    """bSSFP cine settings (1.5 T defaults: TR 3 ms, TE TR/2, flip 60 degrees)."""

    tr: float = 3.0
    te: float = 1.5
    flip_deg: float = 60.0


@dataclass(frozen=True)
class T2StirParams:
    """Black-blood T2-STIR settings. ``ti=None`` means: null fat (computed per case)."""

    tr: float = 1800.0
    te: float = 70.0
    ti: float | None = None
    residual: float = 0.06


@dataclass(frozen=True)
class LGEParams:
    """LGE settings. ``ti=None``: null remote myocardium; ``ti_error`` scales TI (0.1 = +10%)."""

    rr: float = 1000.0
    ti: float | None = None
    ti_error: float = 0.0


# --------------------------------------------------------------------------- CT

#: Hounsfield units per tissue for a contrast-enhanced cardiac CT (arterial phase).
CT_HU: dict[Tissue, float] = {
    Tissue.AIR: -1000.0,
    Tissue.LUNG: -850.0,
    Tissue.FAT: -100.0,
    Tissue.MUSCLE: 50.0,
    Tissue.MYO: 120.0,
    Tissue.BLOOD: 330.0,
    Tissue.LIVER: 90.0,
    Tissue.MARROW: 250.0,
    Tissue.BONE: 900.0,
    Tissue.FLUID: 10.0,
    Tissue.SCAR: 70.0,  # first-pass hypo-enhancement
    Tissue.EDEMA: 100.0,
    Tissue.MVO: 40.0,
    Tissue.SPLEEN: 120.0,
}


def ct_lookup() -> np.ndarray:
    """HU lookup array indexed by tissue code, shape (N_TISSUES,)."""
    out = np.zeros(N_TISSUES, np.float32)
    for tissue, hu in CT_HU.items():
        out[int(tissue)] = hu
    return out

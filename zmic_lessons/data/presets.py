"""Per-centre acquisition presets: how a scanner, protocol and operator render the phantom.

A *domain* here is everything that changes the look of an image but not the anatomy: field
strength (through T1/T2), gadolinium dose and inversion-time choice (LGE contrast), SNR, coil
bias, acquired resolution (k-space extent), ghosting. :class:`AcquisitionPreset` collects these;
:data:`CENTRE_PRESETS` names a few fictional hospitals for generalisation experiments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _default_snr() -> dict[str, tuple[float, float]]:
    return {"bssfp": (18.0, 35.0), "t2": (7.0, 14.0), "lge": (10.0, 20.0)}


def _default_kspace() -> dict[str, tuple[float, float]]:
    return {"bssfp": (0.65, 0.85), "t2": (0.5, 0.7), "lge": (0.6, 0.8)}


@dataclass(frozen=True)
class AcquisitionPreset:
    """How a centre (scanner, protocol, operator) renders the phantom.

    Ranges are ``(low, high)`` and are sampled uniformly per case.

    Attributes:
        name: Short name.
        field_t: Field strength (T); changes T1 and T2 through :func:`physics.tissue_table`.
        t1_scale: Extra factor on every native and post-contrast T1 (sequence-specific T1 bias).
        gd_dose: Gadolinium dose relative to 0.15 mmol/kg (shifts post-contrast T1, LGE contrast).
        snr: Per sequence, SNR range; noise sigma = reference signal / SNR, the reference being
            remote myocardium (bSSFP, T2) or LV blood (LGE).
        kspace_fraction: Per sequence, fraction of k-space kept along phase encoding (blur, Gibbs).
        resolution_mm: Acquired in-plane resolution (mm); k-space is cut to it along both axes
            (zero-filled to the output grid, as scanners do). ``None`` = the output pixel size.
        bias_strength: Standard deviation of the smooth log-bias field.
        coil_falloff: Strength of the surface-coil falloff (0 = body coil, 1 = strong).
        ti_error: LGE inversion time is ``TI_null * (1 + U(-ti_error, ti_error))``.
        flip_deg: bSSFP flip angle range (degrees).
        tissue_jitter: Relative per-case standard deviation of PD, T1 and T2 per tissue.
        ghosting: Standard deviation (radians) of the per-line phase error along phase encoding
            (respiratory/cardiac inconsistency), which makes ghosts.
        texture: Amplitude of the multiplicative tissue texture.
    """

    name: str = "default"
    field_t: float = 1.5
    t1_scale: float = 1.0
    gd_dose: float = 1.0
    snr: Mapping[str, tuple[float, float]] = field(default_factory=_default_snr)
    kspace_fraction: Mapping[str, tuple[float, float]] = field(default_factory=_default_kspace)
    resolution_mm: float | None = None
    bias_strength: float = 0.2
    coil_falloff: float = 0.5
    ti_error: float = 0.1
    flip_deg: tuple[float, float] = (45.0, 65.0)
    tissue_jitter: float = 0.04
    ghosting: float = 0.03
    texture: float = 0.05

    def describe(self) -> dict[str, Any]:
        """The preset as a plain dict (for ``info`` and JSON)."""
        return {
            "name": self.name,
            "field_t": self.field_t,
            "t1_scale": self.t1_scale,
            "gd_dose": self.gd_dose,
            "snr": dict(self.snr),
            "kspace_fraction": dict(self.kspace_fraction),
            "resolution_mm": self.resolution_mm,
            "bias_strength": self.bias_strength,
            "coil_falloff": self.coil_falloff,
            "ti_error": self.ti_error,
            "flip_deg": self.flip_deg,
            "tissue_jitter": self.tissue_jitter,
            "ghosting": self.ghosting,
            "texture": self.texture,
        }


#: Fictional centres for domain-generalisation experiments (same anatomy, other appearance).
CENTRE_PRESETS: dict[str, AcquisitionPreset] = {
    "default": AcquisitionPreset(),
    # A: 1.5 T, well-run academic centre: high SNR, good TI, mild bias.
    "centre_a": AcquisitionPreset(
        name="centre_a",
        bias_strength=0.12,
        coil_falloff=0.35,
        ti_error=0.05,
        snr={"bssfp": (28.0, 40.0), "t2": (10.0, 16.0), "lge": (16.0, 24.0)},
    ),
    # B: 1.5 T, older scanner, coarser acquisitions, strong coil falloff, careless TI.
    "centre_b": AcquisitionPreset(
        name="centre_b",
        resolution_mm=2.2,
        bias_strength=0.3,
        coil_falloff=0.9,
        ti_error=0.2,
        snr={"bssfp": (12.0, 22.0), "t2": (5.0, 9.0), "lge": (7.0, 12.0)},
        kspace_fraction={"bssfp": (0.55, 0.7), "t2": (0.45, 0.6), "lge": (0.5, 0.65)},
        ghosting=0.08,
    ),
    # C: 3 T: longer T1, more SNR, stronger B1/coil inhomogeneity, lower bSSFP flip (SAR).
    "centre_c": AcquisitionPreset(
        name="centre_c",
        field_t=3.0,
        bias_strength=0.35,
        coil_falloff=0.7,
        ti_error=0.1,
        flip_deg=(35.0, 50.0),
        snr={"bssfp": (30.0, 45.0), "t2": (12.0, 18.0), "lge": (18.0, 28.0)},
    ),
    # D: 1.5 T, low gadolinium dose and MOLLI-like T1 bias: weak LGE contrast, grey blood.
    "centre_d": AcquisitionPreset(
        name="centre_d",
        gd_dose=0.7,
        t1_scale=0.93,
        ti_error=0.15,
        bias_strength=0.2,
        snr={"bssfp": (15.0, 28.0), "t2": (6.0, 11.0), "lge": (8.0, 14.0)},
    ),
}


def get_preset(preset: AcquisitionPreset | str) -> AcquisitionPreset:
    """Return ``preset`` itself or the named entry of :data:`CENTRE_PRESETS`."""
    if isinstance(preset, AcquisitionPreset):
        return preset
    try:
        return CENTRE_PRESETS[preset]
    except KeyError:
        raise ValueError(
            f"unknown preset {preset!r}; choose one of {', '.join(CENTRE_PRESETS)} "
            "or pass an AcquisitionPreset"
        ) from None

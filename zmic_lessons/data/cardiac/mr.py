"""MR appearance of an anatomy: relaxation times, signal equations, acquisition, normalisation.

:func:`render_mr` jitters the tissue table at the preset's field strength and dose, draws the
case's protocol (flip angle, TR/TE, inversion times), evaluates the signal equations of
:mod:`zmic_lessons.data.physics` per tissue (and per pixel where there is pathology), pools the
supersampled signal to the output grid (partial volume), then acquires each sequence
(:func:`~zmic_lessons.data.scanner.acquire`) and divides it by its 99.5th percentile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.ops import scale_to_percentile
from ..labels import SEQUENCES
from ..physics import (
    N_TISSUES,
    BSSFPParams,
    LGEParams,
    T2StirParams,
    Tissue,
    bssfp_signal,
    gd_t1,
    ir_signal,
    t2_stir_signal,
    table_arrays,
    ti_null,
    tissue_table,
)
from ..presets import AcquisitionPreset, get_preset
from ..scanner import SequenceAcquisition, acquire
from .anatomy import simulate_anatomy
from .case import Anatomy, CardiacCase

#: Relaxation parameters: (PD, T1, T2, post-contrast T1), per tissue or per pixel (ms).
Relaxation = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _jittered_table(rng: np.random.Generator, preset: AcquisitionPreset) -> dict[str, np.ndarray]:
    """Per-tissue PD, T1, T2 and post-contrast T1 of this case (jittered, at the preset)."""
    lut = table_arrays(tissue_table(preset.field_t))
    j = preset.tissue_jitter
    for name in ("pd", "t1", "t2", "t1_post"):
        lut[name] = lut[name] * np.clip(rng.normal(1.0, j, N_TISSUES), 0.8, 1.2).astype(np.float32)
    lut["t1"] *= preset.t1_scale
    lut["t1_post"] = gd_t1(lut["t1"], lut["t1_post"] * preset.t1_scale, preset.gd_dose).astype(
        np.float32
    )
    # keep the physiological ordering after jitter: scar < blood < remote myocardium (post-Gd)
    lut["t1_post"][Tissue.SCAR] = min(
        lut["t1_post"][Tissue.SCAR], 0.9 * lut["t1_post"][Tissue.BLOOD]
    )
    lut["t2"][Tissue.EDEMA] = max(lut["t2"][Tissue.EDEMA], 1.25 * lut["t2"][Tissue.MYO])
    lut["t1"][Tissue.LUNG] = 1200.0
    lut["pd"][Tissue.AIR] = 0.0
    return lut


@dataclass(frozen=True)
class MRProtocol:
    """The sequence settings of one case (the LGE TI nulls remote myocardium, then errs)."""

    bssfp: BSSFPParams
    t2: T2StirParams
    lge: LGEParams
    lge_ti_null: float

    def params(self, name: str) -> Any:
        """The settings of sequence ``name``."""
        if name not in SEQUENCES:
            raise ValueError(f"unknown sequence {name!r}; choose from {SEQUENCES}")
        return getattr(self, name)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Plain dicts for ``info["sequences"]``."""
        return {
            "bssfp": dict(self.bssfp.__dict__),
            "t2": dict(self.t2.__dict__),
            "lge": dict(self.lge.__dict__, ti_null=self.lge_ti_null),
        }


def _draw_protocol(
    rng: np.random.Generator, preset: AcquisitionPreset, lut: dict[str, np.ndarray]
) -> MRProtocol:
    """Flip angle, heart period (RR), T2 TE, residual blood signal and LGE TI error."""
    bssfp = BSSFPParams(flip_deg=float(rng.uniform(*preset.flip_deg)))
    rr = float(rng.uniform(800, 1100))
    tr, te = 2 * rr, float(rng.uniform(60, 80))
    t2 = T2StirParams(
        tr=tr,
        te=te,
        ti=ti_null(float(lut["t1"][Tissue.FAT]), tr),
        residual=float(rng.uniform(0.03, 0.1)),
    )
    ti_err = float(rng.uniform(-preset.ti_error, preset.ti_error))
    ti0 = ti_null(float(lut["t1_post"][Tissue.MYO]), rr)
    lge = LGEParams(rr=rr, ti=ti0 * (1 + ti_err), ti_error=ti_err)
    return MRProtocol(bssfp, t2, lge, ti0)


def _sequence_signal(name: str, relax: Relaxation, params: Any) -> np.ndarray:
    """Signal of sequence ``name`` for arrays of tissue parameters (per tissue or per pixel)."""
    pd, t1, t2, t1_post = relax
    if name == "bssfp":
        return bssfp_signal(pd, t1, t2, params.tr, params.te, params.flip_deg)
    if name == "t2":
        return t2_stir_signal(pd, t1, t2, params.ti, params.tr, params.te)  # flow: per pixel
    return ir_signal(pd, t1_post, params.ti, params.rr)


def _pathology_relaxation(anatomy: Anatomy, lut: dict[str, np.ndarray]) -> tuple[Any, Relaxation]:
    """Flat indices of the pixels with pathology and their relaxation times, interpolated
    (rates for T1, times for T2) from remote myocardium by the pixel's severity."""
    idx = np.flatnonzero(anatomy.severity > 0)
    tis = anatomy.tissue.ravel()[idx]
    sev = anatomy.severity.ravel()[idx]
    myo = {k: float(v[Tissue.MYO]) for k, v in lut.items()}
    pd = lut["pd"][tis]
    t1 = 1.0 / ((1 - sev) / myo["t1"] + sev / lut["t1"][tis])
    t2 = (1 - sev) * myo["t2"] + sev * lut["t2"][tis]
    t1_post = 1.0 / ((1 - sev) / myo["t1_post"] + sev / lut["t1_post"][tis])
    return idx, (pd, t1, t2, t1_post)


def _clean_images(
    anatomy: Anatomy, lut: dict[str, np.ndarray], protocol: MRProtocol, sequences: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Noise-free partial-volume images and each sequence's reference signal (remote
    myocardium; LV blood for LGE)."""
    idx, patho = _pathology_relaxation(anatomy, lut)
    per_tissue = (lut["pd"], lut["t1"], lut["t2"], lut["t1_post"])
    clean: dict[str, np.ndarray] = {}
    ref_signal: dict[str, float] = {}
    for name in sequences:
        params = protocol.params(name)
        sig_lut = _sequence_signal(name, per_tissue, params).astype(np.float32)
        hi = sig_lut[anatomy.tissue]
        if idx.size:
            hi.ravel()[idx] = _sequence_signal(name, patho, params)
        hi *= anatomy.texture
        if name == "t2":
            hi *= 1.0 - anatomy.flow * (1.0 - protocol.t2.residual)
        clean[name] = anatomy.pool(hi)
        ref_signal[name] = float(sig_lut[Tissue.BLOOD if name == "lge" else Tissue.MYO])
    return clean, ref_signal


def _draw_acquisition(
    rng: np.random.Generator, preset: AcquisitionPreset, name: str, ref: float, pixel_mm: float
) -> tuple[SequenceAcquisition, float]:
    """The acquisition settings of one sequence (noise from the SNR) and the SNR."""
    snr = float(rng.uniform(*preset.snr[name]))
    res_frac = 1.0 if preset.resolution_mm is None else min(1.0, pixel_mm / preset.resolution_mm)
    settings = SequenceAcquisition(
        sigma=ref / snr,
        kspace_fraction=float(rng.uniform(*preset.kspace_fraction[name])),
        resolution_fraction=res_frac,
        pe_axis=int(rng.integers(0, 2)),
        bias_strength=preset.bias_strength,
        coil_falloff=preset.coil_falloff,
        ghosting=preset.ghosting,
    )
    return settings, snr


def _mr_info(
    anatomy: Anatomy,
    preset: AcquisitionPreset,
    lut: dict[str, np.ndarray],
    protocol: MRProtocol,
    ref_signal: dict[str, float],
    acquired: dict[str, tuple[SequenceAcquisition, float]],
) -> dict[str, Any]:
    """The case's ``info``: the anatomy's, plus preset, tissues, sequences, acquisition, SNR."""
    info = dict(anatomy.info)
    info.update(
        preset=preset.describe(),
        tissues={t.name.lower(): {k: float(v[t]) for k, v in lut.items()} for t in Tissue},
        sequences=protocol.describe(),
        reference_signal=ref_signal,
        acquisition={k: settings.as_dict() for k, (settings, _) in acquired.items()},
        snr={k: snr for k, (_, snr) in acquired.items()},
    )
    return info


def render_mr(
    anatomy: Anatomy,
    seed: int | np.random.Generator,
    preset: AcquisitionPreset | str = "default",
    *,
    sequences: tuple[str, ...] = SEQUENCES,
    acquire_images: bool = True,
) -> CardiacCase:
    """Render bSSFP, T2-STIR and LGE of an anatomy through the signal equations and acquire them.

    Args:
        anatomy: From :func:`simulate_anatomy`.
        seed: Seed or generator for the appearance (tissue jitter, sequence settings, noise).
        preset: An :class:`~zmic_lessons.data.domains.AcquisitionPreset` or a name of
            :data:`~zmic_lessons.data.domains.CENTRE_PRESETS`.
        sequences: Which sequences to render.
        acquire_images: If False, ``images`` are the normalised clean images (no bias,
            k-space truncation or noise).

    Returns:
        A :class:`CardiacCase` whose ``clean`` holds the pre-acquisition images.
    """
    preset = get_preset(preset)
    if isinstance(seed, np.random.Generator):
        rng_mr = rng_acq = seed
    else:
        rng_mr, rng_acq = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    lut = _jittered_table(rng_mr, preset)
    protocol = _draw_protocol(rng_mr, preset, lut)
    clean, ref_signal = _clean_images(anatomy, lut, protocol, sequences)
    pixel_mm = anatomy.spacing[1]
    images: dict[str, np.ndarray] = {}
    acquired: dict[str, tuple[SequenceAcquisition, float]] = {}
    for name in sequences:
        settings, snr = _draw_acquisition(rng_acq, preset, name, ref_signal[name], pixel_mm)
        acquired[name] = settings, snr
        raw = clean[name]
        if acquire_images:
            raw = acquire(raw, settings, rng_acq, pixel_mm=pixel_mm)
        images[name], _ = scale_to_percentile(raw)
    info = _mr_info(anatomy, preset, lut, protocol, ref_signal, acquired)
    labels = anatomy.labels.copy()
    return CardiacCase(images, labels, anatomy.spacing, info=info, clean=clean)


def simulate_case(
    seed: int,
    *,
    size: int = 128,
    n_slices: int = 1,
    pixel_mm: float = 1.5,
    slice_mm: float = 8.0,
    pathology: bool | float = 0.8,
    preset: AcquisitionPreset | str = "default",
) -> CardiacCase:
    """One multi-sequence short-axis case: anatomy, then MR physics, then acquisition.

    Same seed gives an identical case; the same seed with another ``preset`` gives the same
    anatomy and labels with another appearance (a domain shift with paired ground truth).

    Args:
        seed: Non-negative integer seed.
        size: Output matrix (size x size).
        n_slices: 1 = one mid-ventricular slice (Z = 1); more = base-to-apex stack.
        pixel_mm: In-plane pixel size (mm).
        slice_mm: Slice thickness / spacing (mm) for stacks (also recorded for Z = 1).
        pathology: Probability of scar/oedema (``True``/``False`` = always/never).
        preset: Appearance preset or its name (see :data:`~..domains.CENTRE_PRESETS`).

    Returns:
        A :class:`CardiacCase`.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    anatomy = simulate_anatomy(
        int(seed),
        size=size,
        n_slices=n_slices,
        pixel_mm=pixel_mm,
        slice_mm=slice_mm,
        pathology=pathology,
    )
    return render_mr(anatomy, int(seed), preset)


def simulate_cases(n: int, seed: int, **kwargs: Any) -> list[CardiacCase]:
    """``n`` cases with seeds ``seed * 100003 + i`` (disjoint streams for different ``seed``)."""
    return [simulate_case(seed * 100_003 + i, **kwargs) for i in range(n)]

"""3D left atrium (LA) in LGE MRI with a thin wall, post-ablation scar and look-alikes.

The phantom follows the LAScarQS-style design of the research note (data.md §3.5):

* **Anatomy** (all signed distance functions, SDFs, in world millimetres, so the anatomy of a
  seed does not depend on the voxel grid): an ellipsoidal LA body with a smooth random surface
  perturbation (random Fourier features), four pulmonary veins (PVs) leaving the posterior wall,
  a tapered and bent appendage (LAA) towards anterior-left, and the mitral opening as a cut
  plane towards the LV. Around it: LV (myocardium and blood), ascending aorta, arch and
  descending aorta with a thin wall, the oesophagus behind the LA, a fat pad in the AV groove,
  lungs and spine.
* **Wall**: a shell of the LA SDF between 0 and ``t(x)`` mm, ``t`` in 1.5-2.7 mm, varying smoothly.
* **Scar**: a fraction of the wall (default 5-35 %), thresholded from a smooth field that
  favours rings around the PV ostia (circumferential ablation) and the posterior wall.
* **Look-alike enhancement**: the aortic wall, the oesophageal wall and the mitral annulus have a
  short post-contrast T1 and light up like scar, but are not LA wall.
* **Partial volume**: voxels near the LA wall, aortic wall, oesophagus and mitral plane are
  rendered at ``supersample`` points per axis (sub-millimetre) and averaged; labels come from the
  tissue fractions.
* **Contrast**: LGE inversion recovery (``physics.ir_signal``) with post-gadolinium T1 per tissue
  and TI set to null healthy myocardium, then mis-set by a per-centre error.
* **Acquisition**: blur (thick-slice PSF), a smooth multiplicative bias field, Rician noise,
  normalisation to the 99.5th percentile, a per-centre contrast curve (gamma).

Label codes (:data:`ATRIAL_LABELS`): 0 background, 1 LA blood pool (cavity incl. PV and LAA
lumen), 2 healthy LA wall, 3 scar (always on the wall). A label voxel is blood if at least half
of it is blood, otherwise wall (or scar, when scar is at least half of its wall) if at least a
quarter of it is wall or at least half of it is LA (blood and wall), so no gap opens between
the blood pool and the wall.

**Scar on the surface.** As in LAScarQS, scar is also given on the LA endocardial surface:
:attr:`AtrialCase.surface` marks the blood-pool voxels that touch non-blood (6-connectivity) and
:attr:`AtrialCase.scar_surface` those of them within ``radius_mm`` of a scar voxel
(:func:`project_scar_to_surface`).

Axis convention: arrays ``(z, y, x)``; world ``+z`` superior, ``+y`` posterior, ``+x`` patient
left; spacing ``(z, y, x)`` mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from ..core.seed import make_rng
from .atrial_anatomy import (
    AtrialAnatomy,
    _ellipsoid,
    _floats,
    _round_cone,
    draw_anatomy,
    la_sdf,
    scar_score,
)
from .physics import ir_signal, ti_null

__all__ = [
    "ATRIAL_CENTRES",
    "ATRIAL_LABELS",
    "BACKGROUND",
    "LA_BLOOD",
    "LA_SCAR",
    "LA_WALL",
    "AtrialCase",
    "AtrialCentre",
    "project_scar_to_surface",
    "simulate_atrium",
]

BACKGROUND, LA_BLOOD, LA_WALL, LA_SCAR = 0, 1, 2, 3
ATRIAL_LABELS: dict[str, int] = {
    "background": BACKGROUND,
    "la_blood": LA_BLOOD,
    "la_wall": LA_WALL,
    "scar": LA_SCAR,
}

# internal tissue classes (later ones override earlier ones)
(
    _SOFT,
    _LUNG,
    _FAT,
    _SPINE,
    _AO_WALL,
    _AO_BLOOD,
    _OES_WALL,
    _OES_LUMEN,
    _LV_MYO,
    _LV_BLOOD,
    _ANNULUS,
    _LA_WALL,
    _LA_SCAR,
    _LA_BLOOD,
) = range(14)
_N_TISSUES = 14

# proton density (relative to water) and nominal post-contrast T1 (ms, about 15-20 min after Gd);
# blood, myocardium and scar are drawn per case from the centre's ranges.
_PD = np.array([0.75, 0.08, 0.90, 0.60, 0.80, 0.95, 0.80, 0.25, 0.80, 0.95, 0.80, 0.80, 0.85, 0.95])
_T1 = np.array(
    [650, 900, 280, 420, 330, 0, 360, 1500, 0, 0, 300, 0, 0, 0], dtype=np.float64
)  # 0 = from the centre's ranges


@dataclass(frozen=True)
class AtrialCentre:
    """Acquisition and contrast of one hospital ("centre") for the cross-hospital chapter.

    Attributes:
        name: Short key in :data:`ATRIAL_CENTRES`.
        description: What the preset imitates.
        spacing_mm: Voxel size ``(z, y, x)`` of the reconstructed volume.
        blur_mm: Gaussian PSF sigma ``(z, y, x)`` in mm (thick slices blur along z).
        snr: Signal-to-noise ratio of the blood pool (Rician noise sigma = blood signal / snr).
        bias: Strength of the smooth multiplicative bias field (0 = none; 0.3 ≈ ±35 %).
        ti_error: Range of the relative TI error (TI = TI_null(myocardium) * (1 + error)).
        t1_blood: Range of the post-contrast T1 of blood (ms).
        t1_myo: Range of the post-contrast T1 of healthy myocardium / LA wall (ms).
        t1_scar: Range of the post-contrast T1 of scar (ms).
        fat_suppressed: Fat signal multiplied by 0.15 (spectral fat saturation).
        gamma: Contrast curve applied after normalisation (``image ** gamma``).
        offset_mm: Largest displacement (mm, per axis, uniform) of the patient from the centre
            of the field of view: how the planner places the box.
        fov_mm: Default field of view ``(z, y, x)`` in mm (the shape is ``fov / spacing``).
    """

    name: str
    description: str
    spacing_mm: tuple[float, float, float]
    blur_mm: tuple[float, float, float]
    snr: float
    bias: float
    ti_error: tuple[float, float]
    t1_blood: tuple[float, float]
    t1_myo: tuple[float, float]
    t1_scar: tuple[float, float]
    fat_suppressed: bool
    gamma: float = 1.0
    offset_mm: float = 0.0
    fov_mm: tuple[float, float, float] = (100.0, 110.0, 110.0)


#: Presets. A/B/C follow the three LAScarQS 2022 centres (Utah 0.625x0.625x2.5 mm; BIDMC 1.4 mm
#: isotropic, fat suppressed; KCL 1.3x1.3 mm acquired with 4 mm slices, reconstructed to 2 mm,
#: fat suppressed); their contrast/noise values are plausible choices, not measured ones.
#: "D" is a held-out fourth vendor outside their ranges in every respect a protocol sets: the
#: display contrast curve, an early acquisition after contrast (short blood T1: blood close to
#: scar), TI set late (grey wall), no fat suppression, a strong surface-coil bias, low SNR,
#: 4 mm slices and 1.9 mm pixels, and a looser placement of the field of view. "default" is a
#: 1.25 mm isotropic volume for tests and quick looks.
ATRIAL_CENTRES: dict[str, AtrialCentre] = {
    "default": AtrialCentre(
        "default",
        "1.25 mm isotropic, moderate noise",
        (1.25, 1.25, 1.25),
        (0.4, 0.4, 0.4),
        snr=14.0,
        bias=0.2,
        ti_error=(-0.05, 0.05),
        t1_blood=(320, 380),
        t1_myo=(460, 520),
        t1_scar=(230, 270),
        fat_suppressed=False,
    ),
    "A": AtrialCentre(
        "A",
        "Utah-like: 0.625x0.625x2.5 mm, no fat suppression",
        (2.5, 0.625, 0.625),
        (1.0, 0.3, 0.3),
        snr=12.0,
        bias=0.25,
        ti_error=(-0.06, 0.06),
        t1_blood=(330, 390),
        t1_myo=(470, 530),
        t1_scar=(230, 280),
        fat_suppressed=False,
        offset_mm=5.0,
    ),
    "B": AtrialCentre(
        "B",
        "BIDMC-like: 1.4 mm isotropic, fat suppressed",
        (1.4, 1.4, 1.4),
        (0.5, 0.5, 0.5),
        snr=16.0,
        bias=0.15,
        ti_error=(-0.04, 0.08),
        t1_blood=(300, 350),
        t1_myo=(440, 500),
        t1_scar=(220, 260),
        fat_suppressed=True,
        gamma=0.9,
        offset_mm=5.0,
    ),
    "C": AtrialCentre(
        "C",
        "KCL-like: 1.3x1.3 mm, 4 mm slices reconstructed to 2 mm, fat suppressed",
        (2.0, 1.3, 1.3),
        (1.7, 0.5, 0.5),
        snr=10.0,
        bias=0.3,
        ti_error=(-0.08, 0.04),
        t1_blood=(340, 400),
        t1_myo=(480, 540),
        t1_scar=(240, 290),
        fat_suppressed=True,
        gamma=1.1,
        offset_mm=5.0,
    ),
    "D": AtrialCentre(
        "D",
        "held-out vendor: steep contrast curve, early scan, TI late, coil bias, 4 mm slices",
        (2.0, 1.9, 1.9),
        (1.7, 0.8, 0.8),
        snr=8.0,
        bias=0.5,
        ti_error=(0.10, 0.18),
        t1_blood=(250, 290),
        t1_myo=(420, 470),
        t1_scar=(220, 250),
        fat_suppressed=False,
        gamma=2.2,
        offset_mm=12.0,
    ),
}

_MV_RADIUS_MM = 20.0  # radius of the cylinder around the mitral axis that the cut plane opens


@dataclass
class AtrialCase:
    """One simulated LGE volume of the left atrium.

    Attributes:
        image: ``float32 (Z, Y, X)``, normalised so that the 99.5th percentile is about 1.
        labels: ``uint8 (Z, Y, X)``, :data:`ATRIAL_LABELS` (0 bg, 1 LA blood, 2 wall, 3 scar).
        surface: ``bool (Z, Y, X)``, LA endocardial surface (blood voxels touching non-blood).
        scar_surface: ``bool (Z, Y, X)``, the surface voxels onto which scar projects.
        spacing: Voxel size ``(z, y, x)`` in mm.
        centre: Name of the preset.
        info: Parameters drawn for this case (T1s, TI, wall thickness, scar fraction, ...).
    """

    image: np.ndarray
    labels: np.ndarray
    surface: np.ndarray
    scar_surface: np.ndarray
    spacing: tuple[float, float, float]
    centre: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def la(self) -> np.ndarray:
        """LA cavity mask (label 1), as in LAScarQS ``atriumSegImgMO``."""
        return self.labels == LA_BLOOD

    @property
    def scar(self) -> np.ndarray:
        """Volumetric scar mask (label 3)."""
        return self.labels == LA_SCAR

    @property
    def wall(self) -> np.ndarray:
        """Whole LA wall, healthy and scarred (labels 2 and 3)."""
        return (self.labels == LA_WALL) | (self.labels == LA_SCAR)


# ---------------------------------------------------------------- geometry primitives


def _tissue(
    an: AtrialAnatomy, p: tuple, scar_thr: float, want_band: bool = False
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Tissue class at world points ``p = (z, y, x)`` (float32 arrays of one shape, mm).

    Returns:
        The ``int8`` tissue map and, if ``want_band``, the distance (mm) to the nearest interface
        that needs partial-volume rendering (LA wall surfaces, mitral plane, aortic wall,
        oesophagus) and the distance to the nearest interface of any kind.
    """
    shape = np.broadcast_shapes(*(np.shape(q) for q in p))
    t = np.full(shape, _SOFT, dtype=np.int8)
    lung = np.minimum(*(_ellipsoid(p, cc, rr) for cc, rr in an.lungs))
    t[lung < 0] = _LUNG
    fats = [_ellipsoid(p, cc, rr) for cc, rr in an.fat]
    for fat in fats:
        t[fat < 0] = _FAT
    spine = _round_cone(p, an.spine[0], an.spine[1], an.spine[2], an.spine[2])
    t[spine < 0] = _SPINE
    ao = np.minimum.reduce([_round_cone(p, a, b, rad, rad) for a, b, rad in an.aorta])
    t[ao < an.ao_wall] = _AO_WALL
    t[ao < 0] = _AO_BLOOD
    oes_a, oes_b, r_out, r_lumen = an.oes
    oes = _round_cone(p, oes_a, oes_b, r_out, r_out)
    t[oes < 0] = _OES_WALL
    t[oes < r_lumen - r_out] = _OES_LUMEN
    lv_in = _ellipsoid(p, an.lv_c, an.lv_r)
    t[_ellipsoid(p, an.lv_c, an.lv_r + an.lv_wall) < 0] = _LV_MYO
    t[lv_in < 0] = _LV_BLOOD
    phi = la_sdf(an, p)
    thick = np.clip(an.thick0 + 0.3 * an.thick_field(p), 1.5, 2.7)
    n, q = _floats(an.mv_normal), _floats(an.mv_point)
    m = (p[0] - q[0]) * n[0] + (p[1] - q[1]) * n[1] + (p[2] - q[2]) * n[2]
    d2 = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2
    in_orifice = d2 - m * m < _MV_RADIUS_MM**2
    la_side = ~((m >= 0) & in_orifice)
    t[(phi < thick) & ~la_side] = _LV_BLOOD
    wall = (phi >= 0) & (phi < thick) & la_side
    t[wall] = _LA_WALL
    if np.isfinite(scar_thr) and wall.any():
        idx = np.nonzero(wall)
        sub = tuple(np.broadcast_to(q, shape)[idx] for q in p)
        scar = scar_score(an, sub) > scar_thr
        t[tuple(i[scar] for i in idx)] = _LA_SCAR
    t[(phi < 0) & la_side] = _LA_BLOOD
    t[(np.abs(m) < 1.5) & in_orifice & (phi > -2.0) & (phi < thick + 1.0)] = _ANNULUS
    if not want_band:
        return t, None, None
    near_la = np.minimum(np.abs(phi), np.abs(phi - thick))
    band = np.minimum(np.where((phi < thick + 3.0) & in_orifice, np.abs(m), np.inf), near_la)
    band = np.minimum(band, np.minimum(np.abs(ao), np.abs(ao - an.ao_wall)))
    band = np.minimum(band, np.minimum(np.abs(oes), np.abs(oes - r_lumen + r_out)))
    anywhere = np.minimum(np.abs(lung), np.abs(lv_in))
    anywhere = np.minimum(anywhere, np.abs(_ellipsoid(p, an.lv_c, an.lv_r + an.lv_wall)))
    anywhere = np.minimum(anywhere, np.abs(spine))
    for fat in fats:
        anywhere = np.minimum(anywhere, np.abs(fat))
    return t, band, np.minimum(band, anywhere)


# ---------------------------------------------------------------- rendering


def _render_centres(
    an: AtrialAnatomy, axes: list[np.ndarray], spacing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Tissue at every voxel centre, and the distance to partial-volume interfaces.

    Evaluates the anatomy on blocks of about 2.5 mm first; only blocks that an interface may
    cross (distance below twice the block's half diagonal) are evaluated voxel by voxel.
    """
    shape = tuple(len(a) for a in axes)
    block = np.maximum(1, np.floor(2.6 / spacing)).astype(int)
    n_blocks = [-(-n // b) for n, b in zip(shape, block, strict=True)]
    coarse = [
        (a[0] + (np.arange(nb) * b + (b - 1) / 2.0) * s).astype(np.float32)
        for a, nb, b, s in zip(axes, n_blocks, block, spacing, strict=True)
    ]
    pts = (coarse[0][:, None, None], coarse[1][None, :, None], coarse[2][None, None, :])
    t_coarse, _, dist = _tissue(an, pts, np.inf, want_band=True)
    need_coarse = dist <= float(np.linalg.norm(block * spacing))  # 2 x half diagonal

    def expand(arr: np.ndarray) -> np.ndarray:
        for ax, b in enumerate(block):
            arr = np.repeat(arr, b, axis=ax)
        return arr[: shape[0], : shape[1], : shape[2]]

    tissue = np.ascontiguousarray(expand(t_coarse))
    idx = np.nonzero(expand(need_coarse))
    band = np.full(shape, np.inf, dtype=np.float32)
    t_fine, band_fine, _ = _tissue(
        an, tuple(a[i] for a, i in zip(axes, idx, strict=True)), np.inf, want_band=True
    )
    tissue[idx] = t_fine
    band[idx] = band_fine
    return tissue, band


def _subsample_offsets(spacing: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Offsets (F, 3) in mm of ``prod(factors)`` sub-voxel points, centred in a voxel."""
    axes = [((np.arange(f) + 0.5) / f - 0.5) * s for f, s in zip(factors, spacing, strict=True)]
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)


def _signal_table(an_rng: np.random.Generator, centre: AtrialCentre) -> tuple[np.ndarray, dict]:
    """LGE signal per tissue class, and the drawn contrast parameters."""
    t1 = _T1.copy()
    t1_blood = an_rng.uniform(*centre.t1_blood)
    t1_myo = an_rng.uniform(*centre.t1_myo)
    t1_scar = an_rng.uniform(*centre.t1_scar)
    t1[[_AO_BLOOD, _LV_BLOOD, _LA_BLOOD]] = t1_blood
    t1[[_LV_MYO, _LA_WALL]] = t1_myo
    t1[_LA_SCAR] = t1_scar
    t1 *= an_rng.uniform(0.96, 1.04, size=t1.shape)
    pd = _PD.copy()
    if centre.fat_suppressed:
        pd[_FAT] *= 0.15
    rr = an_rng.uniform(800.0, 1100.0)
    ti_error = an_rng.uniform(*centre.ti_error)
    ti = ti_null(t1_myo, rr) * (1.0 + ti_error)
    signal = ir_signal(pd, t1, ti, rr)
    info = {
        "t1_blood_ms": float(t1_blood),
        "t1_myo_ms": float(t1_myo),
        "t1_scar_ms": float(t1_scar),
        "rr_ms": float(rr),
        "ti_ms": float(ti),
        "ti_error": float(ti_error),
    }
    return signal.astype(np.float32), info


def _bias_field(rng: np.random.Generator, shape: tuple, strength: float) -> np.ndarray:
    """Smooth multiplicative field: exp of a random quadratic polynomial, strongest along y."""
    if strength <= 0:
        return np.ones(shape, dtype=np.float32)
    z, y, x = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    z, y, x = z[:, None, None], y[None, :, None], x[None, None, :]
    a = rng.normal(0, 1, size=7) * np.array([0.4, 1.0, 0.5, 0.3, 0.3, 0.3, 0.3])
    poly = a[0] * z + a[1] * y + a[2] * x + a[3] * z * z + a[4] * y * y + a[5] * x * x
    poly = poly + a[6] * y * x
    return np.exp(strength * poly / 2.0).astype(np.float32)


def _render(
    an: AtrialAnatomy,
    axes: list[np.ndarray],
    spacing: np.ndarray,
    factors: np.ndarray,
    frac: float,
    signal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free LGE signal and labels, with partial volume near thin structures."""
    shape = tuple(len(a) for a in axes)
    tissue, band = _render_centres(an, axes, spacing)
    wall_idx = np.nonzero(tissue == _LA_WALL)
    scar_thr = np.inf
    if frac > 0 and wall_idx[0].size:
        scores = scar_score(an, tuple(a[i] for a, i in zip(axes, wall_idx, strict=True)))
        scar_thr = float(np.quantile(scores, 1.0 - frac))
        tissue[tuple(i[scores > scar_thr] for i in wall_idx)] = _LA_SCAR
    image = signal[tissue]
    frac_blood = (tissue == _LA_BLOOD).astype(np.float32)
    frac_wall = np.isin(tissue, (_LA_WALL, _LA_SCAR)).astype(np.float32)
    frac_scar = (tissue == _LA_SCAR).astype(np.float32)
    if int(np.prod(factors)) > 1:
        sel = np.nonzero(band < 0.5 * float(np.linalg.norm(spacing)))
        offsets = _subsample_offsets(spacing, factors).astype(np.float32)
        sub_pts = tuple(axes[k][sel[k]][:, None] + offsets[None, :, k] for k in range(3))
        sub_t, _, _ = _tissue(an, sub_pts, scar_thr)
        image[sel] = signal[sub_t].mean(axis=1)
        frac_blood[sel] = (sub_t == _LA_BLOOD).mean(axis=1)
        frac_wall[sel] = np.isin(sub_t, (_LA_WALL, _LA_SCAR)).mean(axis=1)
        frac_scar[sel] = (sub_t == _LA_SCAR).mean(axis=1)
    labels = np.zeros(shape, dtype=np.uint8)
    is_wall = (frac_blood < 0.5) & ((frac_wall >= 0.25) | (frac_blood + frac_wall >= 0.5))
    labels[is_wall] = LA_WALL
    labels[is_wall & (frac_scar >= 0.5 * frac_wall)] = LA_SCAR
    labels[frac_blood >= 0.5] = LA_BLOOD
    return image, labels


def _acquire(
    image: np.ndarray,
    preset: AtrialCentre,
    spacing: np.ndarray,
    rng: np.random.Generator,
    blood_signal: float,
) -> np.ndarray:
    """PSF blur, coil bias, Rician noise, 99.5th-percentile scaling and the contrast curve."""
    sigma = np.asarray(preset.blur_mm) / spacing
    if sigma.max() > 0.05:
        image = ndimage.gaussian_filter(image, sigma=sigma, mode="nearest")
    image = image * _bias_field(rng, image.shape, preset.bias)
    noise_sigma = blood_signal / preset.snr
    re = image + rng.normal(0.0, noise_sigma, size=image.shape).astype(np.float32)
    im = rng.normal(0.0, noise_sigma, size=image.shape).astype(np.float32)
    image = np.sqrt(re * re + im * im)
    image = image / max(float(np.percentile(image, 99.5)), 1e-6)
    if preset.gamma != 1.0:
        image = image**preset.gamma
    return image


def project_scar_to_surface(
    la: np.ndarray,
    scar: np.ndarray,
    spacing: tuple[float, float, float],
    radius_mm: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Project volumetric scar onto the LA endocardial surface (LAScarQS-style evaluation).

    Args:
        la: ``bool (Z, Y, X)`` LA cavity.
        scar: ``bool (Z, Y, X)`` scar (on the wall, outside the cavity).
        spacing: Voxel size ``(z, y, x)`` mm.
        radius_mm: A surface voxel is scar if a scar voxel lies within this distance; default
            ``max(2.5, 1.5 * max(spacing))`` (a wall thickness plus a voxel).

    Returns:
        ``(surface, scar_surface)``: the cavity voxels with a 6-neighbour outside the cavity,
        and the subset of them next to scar.
    """
    la = np.asarray(la, dtype=bool)
    surface = la & ~ndimage.binary_erosion(la, border_value=0)
    if radius_mm is None:
        radius_mm = max(2.5, 1.5 * float(max(spacing)))
    scar = np.asarray(scar, dtype=bool)
    if not scar.any() or not surface.any():
        return surface, np.zeros_like(surface)
    # the distance transform only needs the box around the surface (plus the radius)
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in spacing]
    nz = [
        np.nonzero(np.any(surface, axis=tuple(j for j in range(3) if j != k)))[0] for k in range(3)
    ]
    box = tuple(
        slice(max(int(i[0]) - pd, 0), int(i[-1]) + pd + 1) for i, pd in zip(nz, pad, strict=True)
    )
    scar_surface = np.zeros_like(surface)
    if not scar[box].any():
        return surface, scar_surface
    dist = ndimage.distance_transform_edt(~scar[box], sampling=spacing)
    scar_surface[box] = surface[box] & (dist <= radius_mm)
    return surface, scar_surface


def _preset(centre: str | AtrialCentre) -> AtrialCentre:
    """The centre's preset; a clear error for an unknown name."""
    if isinstance(centre, str) and centre not in ATRIAL_CENTRES:
        raise ValueError(f"unknown centre {centre!r}; choose one of {sorted(ATRIAL_CENTRES)}")
    return ATRIAL_CENTRES[centre] if isinstance(centre, str) else centre


def _grid(
    preset: AtrialCentre,
    shape: tuple[int, int, int] | int | None,
    spacing_mm: tuple[float, float, float] | float | None,
    supersample: int | tuple[int, int, int] | None,
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Volume shape, spacing (mm) and partial-volume sub-samples per axis, checked."""
    spacing = np.array(
        preset.spacing_mm if spacing_mm is None else np.broadcast_to(spacing_mm, (3,)),
        dtype=np.float64,
    )
    if shape is None:
        shape = tuple(int(round(f / s)) for f, s in zip(preset.fov_mm, spacing, strict=True))
    shape = tuple(int(v) for v in np.broadcast_to(shape, (3,)))
    if min(shape) < 2 or spacing.min() <= 0:
        raise ValueError(f"need shape >= 2 and positive spacing, got {shape}, {tuple(spacing)}")
    if supersample is None:
        factors = np.clip(np.ceil(spacing / 0.75 - 1e-6), 1, 4).astype(int)
    else:
        factors = np.broadcast_to(np.asarray(supersample, dtype=int), (3,)).copy()
    return shape, spacing, factors


def simulate_atrium(
    seed: int | np.random.Generator,
    *,
    shape: tuple[int, int, int] | int | None = None,
    spacing_mm: tuple[float, float, float] | float | None = None,
    centre: str | AtrialCentre = "default",
    scar_fraction: float | None = None,
    supersample: int | tuple[int, int, int] | None = None,
) -> AtrialCase:
    """Simulate one 3D LGE volume of the left atrium.

    The anatomy depends only on ``seed`` (it is defined in world mm), so the same seed under two
    centres shows the same patient scanned in two hospitals.

    Args:
        seed: Seed or generator; the same seed gives the same volume.
        shape: Volume shape ``(Z, Y, X)`` (or one int for a cube); default: a field of view of
            100x110x110 mm at the centre's spacing.
        spacing_mm: Voxel size ``(z, y, x)`` mm (or one float); default: the centre's.
        centre: A key of :data:`ATRIAL_CENTRES` or an :class:`AtrialCentre`.
        scar_fraction: Fraction of the wall that is scar, in [0, 0.6]; default uniform 5-35 %.
            0 gives a pre-ablation atrium.
        supersample: Sub-samples per axis for partial volume near thin structures; default
            ``ceil(spacing / 0.75 mm)`` per axis, at most 4.

    Returns:
        An :class:`AtrialCase`.
    """
    preset = _preset(centre)
    shape, spacing, factors = _grid(preset, shape, spacing_mm, supersample)
    rng = make_rng(seed)
    anat_rng, contrast_rng, noise_rng, place_rng = (np.random.default_rng(s) for s in rng.spawn(4))
    an = draw_anatomy(anat_rng)
    frac = float(anat_rng.uniform(0.05, 0.35)) if scar_fraction is None else float(scar_fraction)
    if not 0.0 <= frac <= 0.6:
        raise ValueError(f"scar_fraction must be in [0, 0.6], got {frac}")
    offset = place_rng.uniform(-1.0, 1.0, size=3) * preset.offset_mm
    axes = [
        ((np.arange(n) - (n - 1) / 2.0) * s + o).astype(np.float32)
        for n, s, o in zip(shape, spacing, offset, strict=True)
    ]
    signal, info = _signal_table(contrast_rng, preset)
    image, labels = _render(an, axes, spacing, factors, frac, signal)
    image = _acquire(image, preset, spacing, noise_rng, float(signal[_LA_BLOOD]))
    surface, scar_surface = project_scar_to_surface(
        labels == LA_BLOOD, labels == LA_SCAR, tuple(spacing)
    )
    wall_count = int(np.count_nonzero(labels >= LA_WALL))
    info.update(
        seed=seed if isinstance(seed, int) else None,
        centre=preset.name,
        scar_fraction_target=frac,
        scar_fraction=float(np.count_nonzero(labels == LA_SCAR) / max(wall_count, 1)),
        wall_thickness_mm=float(an.thick0),
        noise_sigma=float(signal[_LA_BLOOD]) / preset.snr,
        snr=preset.snr,
        fov_offset_mm=tuple(float(o) for o in offset),
        supersample=tuple(int(f) for f in factors),
    )
    return AtrialCase(
        image=image.astype(np.float32),
        labels=labels,
        surface=surface,
        scar_surface=scar_surface,
        spacing=tuple(float(s) for s in spacing),
        centre=preset.name,
        info=info,
    )

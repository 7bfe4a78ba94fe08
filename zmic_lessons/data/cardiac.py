"""Physics-based short-axis cardiac MR phantom: bSSFP, T2-STIR and LGE of the same heart.

How a case is made (:func:`simulate_case` = :func:`simulate_anatomy` + :func:`render_mr`):

1. **Anatomy** (:func:`simulate_anatomy`), a tissue map on a supersampled grid (default 2x
   in-plane; for stacks also several sub-planes per thick slice):

   * analytic shapes in millimetres, evaluated on coordinates that first pass through a smooth
     random displacement field (elastic shape variation at two scales), so no outline is a
     perfect ellipse;
   * LV as a truncated prolate ellipsoid (radius shrinks to the apex, the cavity closes before
     the myocardium), wall thickness varying with angle, trabeculae (thresholded fine noise in
     a band at the endocardium) and two papillary muscles: myocardial tissue, LV label;
   * RV as an ellipse wrapped round the septum (crescent) with a thin free wall (background
     label, as in the challenges) and trabeculae; it ends before the LV apex;
   * epicardial fat in the grooves, pericardium, mediastinal fat, lungs with vessels, chest
     wall (skin fat, muscle, ribs, sternum), spine with canal and paraspinal muscles,
     descending aorta, oesophagus, liver dome and stomach in apical slices, left atrium and
     outflow tract above the base;
   * pathology on the myocardium: ischaemic scar growing from the endocardium (subendocardial
     to transmural, in a coronary territory, optionally with a dark MVO core) or non-ischaemic
     scar (mid-wall, epicardial, patchy), oedema (area at risk) wider than scar, and a
     per-pixel ``severity`` (grey zone at the edges).

2. **Appearance** (:func:`render_mr`): per tissue PD, T1, T2 and post-contrast T1 (jittered per
   case, at the preset's field strength and gadolinium dose) go through the signal equations of
   :mod:`zmic_lessons.data.physics`; pixels with a pathology severity get their own
   interpolated relaxation times and their own equation evaluation; blood in the black-blood T2
   is suppressed by a flow map that is weaker near the endocardium (slow-flow rim); tissue
   texture multiplies PD. The supersampled signal is averaged down to the output grid: that
   is the partial volume (in-plane and along z for thick slices).

3. **Acquisition** (:func:`zmic_lessons.data.acquisition.acquire`), per sequence: coil bias,
   k-space truncation (blur and Gibbs), ghosting, Rician noise, then normalisation by the
   99.5th percentile.

Orientation: anterior is up (small row index), the patient's left is image right, so the RV is
on the image left of the LV, the spine at the bottom.

Speed: a 2D 128x128 case with all three sequences takes about 10-20 ms on one core (see
``benchmarks/bench_cardiac.py``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.seed import make_rng
from .labels import EDEMA, LV, MYO, RV, SCAR, SEQUENCES
from .physics import (
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
from .presets import AcquisitionPreset, get_preset
from .scanner import SequenceAcquisition, acquire, normalise, smooth_field

_TWO_PI = 2.0 * math.pi


# =========================================================================== data classes


@dataclass
class Anatomy:
    """The tissue-level description of one case, shared by every rendering (MR, CT).

    Hi-res arrays have shape ``(Z * sz, H * s, W * s)`` with ``(sz, s) = supersample``.

    Attributes:
        tissue: ``uint8`` tissue codes (:class:`~zmic_lessons.data.physics.Tissue`).
        texture: ``float32`` multiplicative texture around 1 (applied to proton density).
        severity: ``float32`` pathology strength in [0, 1] (0 outside scar/oedema/MVO).
        flow: ``float32`` blood motion in [0, 1] (1 = fast flow, 0 = static).
        labels: ``uint8`` (Z, H, W) segmentation on the output grid (partial-volume majority).
        supersample: (through-plane, in-plane) supersampling factors.
        spacing: Output spacing (z, y, x) in mm.
        info: Geometry and pathology parameters, per-slice depth, the generator's arguments.
    """

    tissue: np.ndarray
    texture: np.ndarray
    severity: np.ndarray
    flow: np.ndarray
    labels: np.ndarray
    supersample: tuple[int, int]
    spacing: tuple[float, float, float]
    info: dict[str, Any] = field(default_factory=dict)

    def pool(self, hi: np.ndarray) -> np.ndarray:
        """Average a hi-res ``(Z*sz, H*s, W*s)`` map down to the output grid ``(Z, H, W)``."""
        return _pool_mean(hi, self.supersample)


def _pool_mean(hi: np.ndarray, factors: tuple[int, int]) -> np.ndarray:
    """Block mean by summing strided views (much faster than a reshape-mean)."""
    sz, s = factors
    acc = np.zeros((hi.shape[0], hi.shape[1] // s, hi.shape[2] // s), np.float32)
    for j in range(s):
        for k in range(s):
            acc += hi[:, j::s, k::s]
    if sz > 1:
        acc = acc.reshape(-1, sz, acc.shape[1], acc.shape[2]).sum(axis=1)
    acc *= 1.0 / (sz * s * s)
    return acc


@dataclass
class CardiacCase:
    """One multi-sequence phantom case.

    Attributes:
        images: ``"bssfp" | "t2" | "lge"`` -> ``float32`` (Z, H, W), divided by the 99.5th
            percentile (about [0, 1], not clipped).
        labels: ``uint8`` (Z, H, W), codes of :data:`~zmic_lessons.data.labels.CARDIAC_LABELS`.
        spacing: (z, y, x) in mm.
        info: Parameters actually used: tissue table, TI, TR, TE, flip, SNR and noise sigma,
            k-space fractions, pathology, per-slice depth, preset, seed.
        clean: Per sequence, the noise-free partial-volume image before acquisition (signal
            units, not normalised); :func:`~zmic_lessons.data.acquisition.misalign` warps
            these and acquires them again in each sequence's own space.
    """

    images: dict[str, np.ndarray]
    labels: np.ndarray
    spacing: tuple[float, float, float]
    info: dict[str, Any] = field(default_factory=dict)
    clean: dict[str, np.ndarray] | None = None


# =========================================================================== small helpers


def _wrap(theta: float) -> float:
    return (theta + math.pi) % _TWO_PI - math.pi


class _Frame:
    """Coordinates of a (sub)grid in a rotated, translated frame (mm).

    ``u`` points to the frame's lateral side (image right when ``rot = 0``), ``v`` to its
    inferior side (image down).
    """

    __slots__ = ("u", "v")

    def __init__(self, y: np.ndarray, x: np.ndarray, cy: float, cx: float, rot: float):
        c, s = math.cos(rot), math.sin(rot)
        dy, dx = y - cy, x - cx
        self.u = c * dx + s * dy
        self.v = c * dy - s * dx

    def rho2(self, ou: float, ov: float, au: float, av: float, rot: float = 0.0) -> np.ndarray:
        """Squared normalised radius of an ellipse (1 on its outline)."""
        u, v = self.u - ou, self.v - ov
        if rot:
            c, s = math.cos(rot), math.sin(rot)
            u, v = c * u + s * v, c * v - s * u
        return u * u * (1.0 / (au * au)) + v * v * (1.0 / (av * av))

    def ellipse(self, ou, ov, au, av, rot=0.0, pert=None) -> np.ndarray:
        """Inside an ellipse whose radius is scaled by ``1 + pert`` (a field or None)."""
        rho2 = self.rho2(ou, ov, au, av, rot)
        if pert is None:
            return rho2 < 1.0
        lim = 1.0 + pert
        return rho2 < lim * lim


def _to_image(cy: float, cx: float, rot: float, u: float, v: float) -> tuple[float, float]:
    """Image (y, x) mm of a point given in a frame centred at (cy, cx) rotated by ``rot``."""
    c, s = math.cos(rot), math.sin(rot)
    return cy + s * u + c * v, cx + c * u - s * v


@functools.lru_cache(maxsize=16)
def _base_grid(n: int, px: float) -> np.ndarray:
    g = (np.arange(n, dtype=np.float32) - (n - 1) / 2.0) * px
    g.flags.writeable = False
    return g


def _window(cy: float, cx: float, radius: float, grid: np.ndarray, margin: float) -> tuple:
    """Index slices of the (unwarped) base grid covering a disc of ``radius`` mm."""
    px = float(grid[1] - grid[0])
    n = grid.shape[0]
    r = radius + margin
    lo_y = int(min(n, max(0, math.floor((cy - r - grid[0]) / px))))
    hi_y = int(min(n, max(0, math.ceil((cy + r - grid[0]) / px) + 1)))
    lo_x = int(min(n, max(0, math.floor((cx - r - grid[0]) / px))))
    hi_x = int(min(n, max(0, math.ceil((cx + r - grid[0]) / px) + 1)))
    return slice(lo_y, max(lo_y, hi_y)), slice(lo_x, max(lo_x, hi_x))


def _blob(
    yy, xx, grid, margin, frame: tuple[float, float, float], ou, ov, au, av, rot=0.0
) -> tuple[tuple[slice, slice], np.ndarray]:
    """An ellipse given in a frame ``(cy, cx, rot)``, evaluated only in its own window."""
    cy, cx = _to_image(frame[0], frame[1], frame[2], ou, ov)
    sl = _window(cy, cx, max(au, av), grid, margin)
    sub = _Frame(yy[sl], xx[sl], *frame)
    return sl, sub.ellipse(ou, ov, au, av, rot)


def _sector(u, v, r, centre: float, half_width) -> np.ndarray:
    """Smooth angular bump: 1 at ``centre``, 0 beyond ``half_width`` (radians, may be an array).

    Uses cosines only (no arctan2): ``(cos d - cos hw) / (1 - cos hw)`` clipped to [0, 1].
    """
    cosd = (u * math.cos(centre) + v * math.sin(centre)) / np.maximum(r, 1e-3)
    chw = np.cos(np.minimum(half_width, 3.0))
    return np.clip((cosd - chw) / (1.0 - chw), 0.0, 1.0)


# =========================================================================== geometry


@dataclass
class _Geometry:
    """All random scalar shape parameters of one case (mm, radians)."""

    heart_cy: float
    heart_cx: float
    heart_rot: float
    lv_len: float  # epicardial base-to-apex length
    lv_r_endo: float  # basal endocardial radius
    lv_wall: float
    apex_wall: float
    pap: list[tuple[float, float, float]]  # (angle, radius fraction, size)
    rv_ou: float
    rv_ov: float
    rv_au: float
    rv_av: float
    rv_rot: float
    rv_len_frac: float
    rv_wall: float
    fat_mm: float
    sac_scale: float
    fluid_mm: float
    body_cy: float
    body_cx: float
    body_rot: float
    body_ay: float
    body_ax: float
    subcut_mm: float
    muscle_mm: float
    ribs: list[tuple[float, float, float]]  # (angle, length, width)
    spine_off: float
    aorta: tuple[float, float, float]
    liver_depth: float
    stomach_depth: float
    rim_mm: float
    trab_mm: float
    tilt: tuple[float, float]
    warp_mm: float
    pathology: dict[str, Any]


_TERRITORIES = {  # heart-frame angle of the centre: 0 lateral, +90 inferior, 180 septal, -90 ant.
    "lad": (-140.0, -80.0),
    "lcx": (-30.0, 40.0),
    "rca": (80.0, 130.0),
}


def _draw_pathology(rng: np.random.Generator, present: bool) -> dict[str, Any]:
    if not present:
        return {"kind": "none"}
    kind = rng.choice(["ischaemic", "midwall", "epicardial", "patchy"], p=[0.62, 0.13, 0.13, 0.12])
    p: dict[str, Any] = {"kind": str(kind)}
    if kind == "ischaemic":
        terr = str(rng.choice(list(_TERRITORIES), p=[0.5, 0.2, 0.3]))
        lo, hi = _TERRITORIES[terr]
        p.update(
            territory=terr,
            centre=math.radians(rng.uniform(lo, hi)),
            half_width=math.radians(rng.uniform(22, 60)),
            transmurality=float(rng.uniform(0.3, 1.0)),
            edema_extra=math.radians(rng.uniform(12, 35)),
            # longitudinal extent as fractions of the LV length; LAD reaches the apex
            t_from=float(rng.uniform(0.0, 0.3) if terr != "lad" else rng.uniform(0.15, 0.45)),
            t_to=float(rng.uniform(0.65, 0.9)) if terr != "lad" else 1.0,
            mvo=bool(rng.random() < 0.35),
        )
    elif kind == "midwall":
        p.update(
            centre=math.radians(rng.uniform(150, 210)),
            half_width=math.radians(rng.uniform(30, 80)),
            band=float(rng.uniform(0.1, 0.2)),
            mid=float(rng.uniform(0.4, 0.6)),
            t_from=0.0,
            t_to=float(rng.uniform(0.6, 1.0)),
        )
    elif kind == "epicardial":
        p.update(
            centre=math.radians(rng.uniform(-10, 70)),
            half_width=math.radians(rng.uniform(35, 80)),
            transmurality=float(rng.uniform(0.2, 0.5)),
            t_from=0.0,
            t_to=float(rng.uniform(0.6, 1.0)),
        )
    else:  # patchy
        p.update(
            centre=float(rng.uniform(-math.pi, math.pi)),
            half_width=math.radians(rng.uniform(70, 160)),
            threshold=float(rng.uniform(0.55, 0.85)),
            t_from=0.0,
            t_to=1.0,
        )
    p["edema_grow"] = float(rng.uniform(0.12, 0.3))
    return p


def _draw_geometry(rng: np.random.Generator, pathology: bool) -> _Geometry:
    size = rng.normal(1.0, 0.07)
    dilated = rng.random() < 0.15
    r_endo = rng.uniform(22, 27) * size * (1.2 if dilated else 1.0)
    wall = rng.uniform(7.0, 10.5) * (0.75 if dilated else 1.0)
    lv_len = rng.uniform(74, 90) * size
    r_epi = r_endo + wall
    pap = [
        (math.radians(rng.normal(-50, 12)), rng.uniform(0.55, 0.72), rng.uniform(3.2, 5.5)),
        (math.radians(rng.normal(115, 12)), rng.uniform(0.55, 0.72), rng.uniform(3.5, 6.0)),
    ]
    ribs = []
    for a in np.linspace(-160, -20, int(rng.integers(5, 8))):
        ribs.append((math.radians(a + rng.normal(0, 6)), rng.uniform(9, 15), rng.uniform(5, 8)))
    for a in (-5.0, 25.0, 155.0, 185.0):
        if rng.random() < 0.7:
            ribs.append((math.radians(a + rng.normal(0, 6)), rng.uniform(9, 15), rng.uniform(5, 8)))
    return _Geometry(
        heart_cy=rng.normal(-4, 5),
        heart_cx=rng.normal(10, 5),
        heart_rot=math.radians(rng.normal(0, 12)),
        lv_len=lv_len,
        lv_r_endo=r_endo,
        lv_wall=wall,
        apex_wall=rng.uniform(4.0, 6.5),
        pap=pap,
        rv_ou=-r_epi * rng.uniform(0.75, 0.95),
        rv_ov=r_epi * rng.uniform(-0.15, 0.05),
        rv_au=r_epi * rng.uniform(0.85, 1.0),
        rv_av=r_epi * rng.uniform(1.0, 1.2),
        rv_rot=math.radians(rng.normal(-8, 10)),
        rv_len_frac=rng.uniform(0.7, 0.85),
        rv_wall=rng.uniform(2.5, 4.0),
        fat_mm=rng.uniform(1.0, 4.0),
        sac_scale=rng.uniform(0.9, 1.0),
        fluid_mm=rng.uniform(0.5, 2.0) if rng.random() < 0.4 else 0.0,
        body_cy=rng.normal(22, 6),
        body_cx=rng.normal(-12, 8),
        body_rot=math.radians(rng.normal(0, 8)),
        body_ay=rng.uniform(95, 112),
        body_ax=rng.uniform(140, 170),
        subcut_mm=rng.uniform(6, 20),
        muscle_mm=rng.uniform(8, 16),
        ribs=ribs,
        spine_off=rng.normal(0, 8),
        aorta=(rng.uniform(9, 13), rng.normal(32, 5), rng.normal(-28, 5)),
        liver_depth=rng.uniform(0.4, 1.0),
        stomach_depth=rng.uniform(0.5, 1.1),
        rim_mm=rng.uniform(1.5, 4.0),
        trab_mm=rng.uniform(1.5, 4.0),
        tilt=(rng.normal(0, 0.08), rng.normal(0, 0.08)),
        warp_mm=rng.uniform(2.0, 4.5),
        pathology=_draw_pathology(rng, pathology),
    )


# =========================================================================== plane renderer


@dataclass
class _Fields:
    """Random fields shared by all planes of a case (hi-res (H, W)); lengths in mm."""

    dy: np.ndarray
    dx: np.ndarray
    max_disp: float
    texture: np.ndarray
    fine: np.ndarray  # trabeculae, patchy scar, scar texture (std ~1)
    vessels: np.ndarray
    coarse: np.ndarray
    endo: np.ndarray  # endocardial radius perturbation (mm)
    epi: np.ndarray
    rv: np.ndarray  # relative RV radius perturbation
    fat: np.ndarray  # epicardial fat thickness (mm, >= 0)
    body: np.ndarray  # relative body outline perturbation
    subcut: np.ndarray  # subcutaneous fat thickness (mm)
    muscle: np.ndarray  # chest-wall muscle thickness (mm)
    trab: np.ndarray  # trabecular band width (mm)
    edge: np.ndarray  # relative jitter of pathology sector widths


def _draw_fields(
    rng: np.random.Generator,
    shape: tuple[int, int],
    g: _Geometry,
    px: float,
    texture_amp: float = 1.0,
) -> _Fields:
    fov = shape[0] * px

    def field(scale_mm: float, std: float) -> np.ndarray:
        return smooth_field(rng, shape, max(4, int(round(fov / scale_mm)) + 3), std)

    dy = field(30.0, g.warp_mm) + field(90.0, 2.0 * g.warp_mm)
    dx = field(30.0, g.warp_mm) + field(90.0, 2.0 * g.warp_mm)
    max_disp = float(max(np.abs(dy).max(), np.abs(dx).max()))
    texture = 1.0 + 0.05 * texture_amp * (0.6 * field(4.0, 1.6) + 0.4 * field(12.0, 1.6))
    return _Fields(
        dy=dy,
        dx=dx,
        max_disp=max_disp,
        texture=texture.astype(np.float32),
        fine=field(2.2, 1.6),
        vessels=field(5.0, 1.6),
        coarse=field(25.0, 1.6),
        endo=field(18.0, 1.6),
        epi=field(25.0, 1.4),
        rv=field(25.0, 0.07),
        fat=np.maximum(field(12.0, 1.6 * g.fat_mm) + 0.5 * g.fat_mm, 0.0),
        body=field(60.0, 0.05),
        subcut=np.maximum(g.subcut_mm * (1.0 + field(50.0, 0.5)), 2.0),
        muscle=np.maximum(g.muscle_mm * (1.0 + field(40.0, 0.5)), 3.0),
        trab=np.maximum(g.trab_mm * (1.0 + field(15.0, 0.8)), 0.3),
        edge=field(20.0, 0.35),
    )


@dataclass
class _Plane:
    tissue: np.ndarray
    label: np.ndarray
    severity: np.ndarray
    flow: np.ndarray


def _render_plane(g: _Geometry, f: _Fields, grid: np.ndarray, depth: float) -> _Plane:
    """Render one plane at ``depth`` mm below the LV base (negative: above the base)."""
    n = grid.shape[0]
    yy = grid[:, None] + f.dy
    xx = grid[None, :] + f.dx
    margin = f.max_disp + 2.0
    T = Tissue
    tissue = np.zeros((n, n), np.uint8)
    label = np.zeros((n, n), np.uint8)
    sev = np.zeros((n, n), np.float32)
    flow = np.zeros((n, n), np.float32)
    t = depth / g.lv_len  # depth fraction, 0 base, 1 apex

    # ---- body wall: skin fat, muscle, thoracic cavity (lung by default) -------------------
    body = _Frame(yy, xx, g.body_cy, g.body_cx, g.body_rot)
    r_mean = math.sqrt(g.body_ax * g.body_ay)
    depth_mm = (1.0 + f.body - np.sqrt(body.rho2(0.0, 0.0, g.body_ax, g.body_ay))) * r_mean
    inside = depth_mm > 0
    tissue[inside] = T.MUSCLE
    tissue[inside & (depth_mm < f.subcut)] = T.FAT
    thorax = depth_mm > f.subcut + f.muscle
    tissue[thorax] = T.LUNG

    def wall_point(ang: float, frac_muscle: float) -> tuple[float, float, float, float]:
        """Body-frame (u, v) and image (y, x) of a point in the chest wall at angle ``ang``."""
        ca, sa = math.cos(ang), math.sin(ang)
        rr = 1.0 / math.sqrt((ca / g.body_ax) ** 2 + (sa / g.body_ay) ** 2)
        y0, x0 = _to_image(g.body_cy, g.body_cx, g.body_rot, rr * ca, rr * sa)
        iy = int(np.clip(round((y0 - grid[0]) / (grid[1] - grid[0])), 0, n - 1))
        ix = int(np.clip(round((x0 - grid[0]) / (grid[1] - grid[0])), 0, n - 1))
        d_in = (
            float(f.subcut[iy, ix] + frac_muscle * f.muscle[iy, ix])
            - float(f.body[iy, ix]) * r_mean
        )
        ou, ov = (rr - d_in) * ca, (rr - d_in) * sa
        cy, cx = _to_image(g.body_cy, g.body_cx, g.body_rot, ou, ov)
        return ou, ov, cy, cx

    # ---- ribs (cortex and marrow) at the inner edge of the muscle, and the sternum --------
    for ang, length, width in g.ribs:
        ou, ov, cy, cx = wall_point(ang, 1.0)
        sl = _window(cy, cx, length, grid, margin)
        sub = _Frame(yy[sl], xx[sl], g.body_cy, g.body_cx, g.body_rot)
        rot = ang + math.pi / 2  # long axis tangent to the wall
        tis = tissue[sl]
        tis[sub.ellipse(ou, ov, length / 2, width / 2, rot)] = T.BONE
        tis[sub.ellipse(ou, ov, length / 2 - 1.5, width / 2 - 1.5, rot)] = T.MARROW
    ou, ov, cy, cx = wall_point(-math.pi / 2, 0.6)
    sl = _window(cy, cx, 20, grid, margin)
    sub = _Frame(yy[sl], xx[sl], g.body_cy, g.body_cx, g.body_rot)
    tis = tissue[sl]
    tis[sub.ellipse(ou, ov, 16, 7)] = T.BONE
    tis[sub.ellipse(ou, ov, 14.5, 5.5)] = T.MARROW

    # ---- heart-level sizes at this depth ---------------------------------------------------
    hcy = g.heart_cy + g.tilt[0] * depth
    hcx = g.heart_cx + g.tilt[1] * depth
    f_epi = math.sqrt(max(0.0, 1.0 - t * t))
    t_endo = depth / (g.lv_len - g.apex_wall)
    f_endo = math.sqrt(max(0.0, 1.0 - t_endo * t_endo))
    if depth < 0:  # above the base: the atrium continues with a thin wall
        f_epi = f_endo = 1.0
    r_epi0 = (g.lv_r_endo + g.lv_wall) * f_epi
    r_endo0 = g.lv_r_endo * f_endo
    t_rv = depth / (g.rv_len_frac * g.lv_len)
    f_rv = math.sqrt(max(0.0, 1.0 - t_rv * t_rv)) if depth >= 0 else 0.9
    sac_r = max(r_epi0, 5.0) + 0.6 * (g.rv_au * f_rv)

    # ---- mediastinum: anterior (between RV and sternum) and posterior (aorta, oesophagus) -
    sp_u, sp_v = g.spine_off, g.body_ay - 42.0
    c_ant = (-12.0, -0.8 * sac_r - 4.0)
    cy, cx = _to_image(hcy, hcx, g.heart_rot, *c_ant)
    sl = _window(cy, cx, 26, grid, margin)
    sub = _Frame(yy[sl], xx[sl], hcy, hcx, g.heart_rot)
    m = sub.ellipse(c_ant[0], c_ant[1], 16.0, 9.0, 0.3, f.body[sl] * 5) & thorax[sl]
    tissue[sl][m] = T.FAT
    tissue[sl][m & (f.coarse[sl] > 1.0)] = T.MUSCLE  # thymus remnant, lymph nodes
    cy, cx = _to_image(g.body_cy, g.body_cx, g.body_rot, sp_u + 14.0, sp_v - 24.0)
    sl = _window(cy, cx, 32, grid, margin)
    sub = _Frame(yy[sl], xx[sl], g.body_cy, g.body_cx, g.body_rot)
    m = sub.ellipse(sp_u + 14.0, sp_v - 24.0, 30.0, 22.0, 0.0, f.body[sl] * 3) & thorax[sl]
    tissue[sl][m] = T.FAT

    # ---- lung vessels ----------------------------------------------------------------------
    vessel = (f.vessels > 1.75) & (tissue == T.LUNG)
    tissue[vessel] = T.BLOOD
    flow[vessel] = 1.0

    # ---- liver (with diaphragm and hepatic veins) and stomach in apical planes -------------
    if t > g.liver_depth - 0.25:
        grow = min(1.0, (t - g.liver_depth + 0.25) / 0.5)
        ax, ay = 95.0 * grow + 5, 55.0 * grow + 5
        c_u, c_v = -75.0, g.body_ay - 35.0 - 30.0 * grow
        cy, cx = _to_image(g.body_cy, g.body_cx, g.body_rot, c_u, c_v)
        sl = _window(cy, cx, ax + 5, grid, margin)
        sub = _Frame(yy[sl], xx[sl], g.body_cy, g.body_cx, g.body_rot)
        th_sl = thorax[sl]
        rho2 = sub.rho2(c_u, c_v, ax, ay, 0.3)
        lim = (1.0 + 2 * f.body[sl]) ** 2
        dia = (rho2 < lim * (1 + 4 / ay) ** 2) & th_sl
        liv = (rho2 < lim) & th_sl
        hv = liv & (f.vessels[sl] < -1.7)
        tissue[sl][dia] = T.MUSCLE
        tissue[sl][liv] = T.LIVER
        tissue[sl][hv] = T.BLOOD
        flow[sl][hv] = 0.7
        thorax[sl] &= ~dia
    if t > g.stomach_depth - 0.3:
        grow = min(1.0, (t - g.stomach_depth + 0.3) / 0.4)
        c_u, c_v = 70.0, g.body_ay - 55.0
        cy, cx = _to_image(g.body_cy, g.body_cx, g.body_rot, c_u, c_v)
        sl = _window(cy, cx, 50, grid, margin)
        sub = _Frame(yy[sl], xx[sl], g.body_cy, g.body_cx, g.body_rot)
        th_sl = thorax[sl]
        st_o = sub.ellipse(c_u, c_v, 45.0 * grow + 3, 32.0 * grow + 3, -0.4) & th_sl
        st_i = sub.ellipse(c_u, c_v, 45.0 * grow, 32.0 * grow, -0.4) & th_sl
        tissue[sl][st_o] = T.MUSCLE
        tissue[sl][st_i] = T.FLUID
        tissue[sl][st_i & (sub.v < c_v - 12.0 * grow)] = T.AIR

    # ---- spine, paraspinal muscles, aorta, oesophagus (each in its own small window) -------
    bf = (g.body_cy, g.body_cx, g.body_rot)
    a_r, a_du, a_dv = g.aorta
    for side in (-1.0, 1.0):
        sl, m = _blob(yy, xx, grid, margin, bf, sp_u + side * 30.0, sp_v + 30.0, 22.0, 26.0)
        tissue[sl][m & inside[sl]] = T.MUSCLE
    for ou, ov, au, av, tis in (
        (sp_u, sp_v - 2.0, 21.0, 18.0, T.FAT),
        (sp_u, sp_v, 18.0, 15.0, T.BONE),
        (sp_u, sp_v, 16.5, 13.5, T.MARROW),
        (sp_u, sp_v + 24.0, 9.0, 9.0, T.BONE),
        (sp_u, sp_v + 24.0, 7.5, 7.5, T.FLUID),
        (sp_u, sp_v + 24.0, 4.0, 4.5, T.MUSCLE),  # cord
        (sp_u + a_du, sp_v + a_dv, a_r + 1.5, a_r + 1.5, T.MUSCLE),  # aortic wall
        (sp_u + a_du, sp_v + a_dv, a_r, a_r, T.BLOOD),
        (sp_u + 6.0, sp_v - 28.0, 8.0, 6.0, T.MUSCLE),  # oesophagus
        (sp_u + 6.0, sp_v - 28.0, 2.5, 2.0, T.AIR),
    ):
        sl, m = _blob(yy, xx, grid, margin, bf, ou, ov, au, av)
        tissue[sl][m] = tis
        if tis == T.BLOOD:
            flow[sl][m] = 1.0

    # ---- heart -----------------------------------------------------------------------------
    sl = _window(
        hcy + (-0.35 * g.rv_au * f_rv) * math.sin(g.heart_rot),
        hcx + (-0.35 * g.rv_au * f_rv) * math.cos(g.heart_rot),
        sac_r + 8.0,
        grid,
        margin,
    )
    fr = _Frame(yy[sl], xx[sl], hcy, hcx, g.heart_rot)
    _render_heart(
        g,
        f,
        fr,
        sl,
        yy,
        xx,
        grid,
        margin,
        hcy,
        hcx,
        depth,
        t,
        r_endo0,
        r_epi0,
        f_rv,
        f_endo,
        f_epi,
        tissue[sl],
        label[sl],
        sev[sl],
        flow[sl],
    )
    return _Plane(tissue, label, sev, flow)


def _render_heart(
    g,
    f,
    fr: _Frame,
    sl,
    yy,
    xx,
    grid,
    margin,
    hcy,
    hcx,
    depth,
    t,
    r_endo0,
    r_epi0,
    f_rv,
    f_endo,
    f_epi,
    tissue,
    label,
    sev,
    flow,
) -> None:
    T = Tissue
    fine = f.fine[sl]
    u, v = fr.u, fr.v
    r = np.sqrt(u * u + v * v)
    r_epi = r_epi0 + f.epi[sl] * f_epi
    r_endo = np.minimum(r_endo0 + f.endo[sl] * f_endo, r_epi - 3.0)
    base = depth < 0

    # RV ellipse (outer = epicardium of the free wall), depth inside its outline in mm
    rv_au, rv_av = g.rv_au * f_rv, g.rv_av * f_rv
    has_rv = f_rv > 0.05 and not base
    rv_ou = g.rv_ou * (0.6 + 0.4 * f_rv)
    if has_rv:
        rv_scale = math.sqrt(rv_au * rv_av)
        depth_rv = (
            1.0 + f.rv[sl] - np.sqrt(fr.rho2(rv_ou, g.rv_ov, rv_au, rv_av, g.rv_rot))
        ) * rv_scale

    # pericardial sac = heart dilated by the epicardial fat, plus a groove filler (an ellipse
    # just circumscribing LV and RV), so fat collects in the AV / interventricular grooves
    fat = f.fat[sl]
    x_left = (rv_ou - rv_au) if has_rv else -r_epi0
    g_cu = 0.5 * (x_left + r_epi0)
    g_au = max(0.5 * (r_epi0 - x_left) * g.sac_scale, 1.0)
    g_av = max(max(rv_av if has_rv else 0.0, r_epi0) * 0.92 * g.sac_scale, 1.0)
    rho_g = np.sqrt(fr.rho2(g_cu, 0.0, g_au, g_av)) * g_au  # ~mm

    def sac_at(extra: float) -> np.ndarray:
        m = (r < r_epi + fat + extra) | (rho_g < g_au + 0.5 * f.epi[sl] + extra)
        if has_rv:
            m |= depth_rv > -(1.0 + 0.5 * fat + extra)
        return m

    sac = sac_at(0.0)
    tissue[sac_at(1.3) & ~sac] = T.MUSCLE  # fibrous pericardium
    tissue[sac] = T.FAT
    if g.fluid_mm > 0:  # pericardial fluid at the edge of the sac, mostly inferolateral
        tissue[sac & ~sac_at(-g.fluid_mm) & (v > -0.3 * r)] = T.FLUID

    if base:
        # left atrium and aortic root above the base: blood, thin wall, background label
        la_r = r_endo0 * 0.9 + f.endo[sl]
        tissue[r < la_r + 2.0] = T.MYO
        la = r < la_r
        tissue[la] = T.BLOOD
        flow[la] = 0.6
        ao_u, ao_v = -0.55 * r_epi0, -0.75 * r_epi0
        tissue[fr.ellipse(ao_u, ao_v, 15.0, 15.0)] = T.MYO
        ao = fr.ellipse(ao_u, ao_v, 13.0, 13.0)
        tissue[ao] = T.BLOOD
        flow[ao] = 1.0
        return

    lv_outer = r < r_epi
    if has_rv:  # free wall (myocardial tissue, background label) and cavity
        wall = (depth_rv > 0) & ~lv_outer
        cav = (depth_rv > g.rv_wall) & ~lv_outer
        tissue[wall] = T.MYO
        tissue[cav] = T.BLOOD
        label[cav] = RV
        iy, ix = np.nonzero(cav)
        d_in = depth_rv[iy, ix] - g.rv_wall
        flow[iy, ix] = 0.75 + 0.25 * np.clip(d_in / (g.rim_mm + 1.0), 0.0, 1.0)
        trab = (d_in < 3.0) & (fine[iy, ix] > 1.0)
        tissue[iy[trab], ix[trab]] = T.MYO

    # LV myocardium and cavity (papillary muscles and trabeculae: myocardium, LV label)
    myo = lv_outer & (r >= r_endo)
    tissue[myo] = T.MYO
    label[myo] = MYO
    if r_endo0 > 1.0:
        cav = r < r_endo
        tissue[cav] = T.BLOOD
        label[cav] = LV
        iy, ix = np.nonzero(cav)
        d_wall = r_endo[iy, ix] - r[iy, ix]  # mm from the endocardium
        flow[iy, ix] = 0.65 + 0.35 * np.clip(d_wall / g.rim_mm, 0.0, 1.0)
        band = f.trab[sl][iy, ix] * (0.6 + 0.8 * t)
        trab = fine[iy, ix] > 0.3 + 1.3 * d_wall / band
        tissue[iy[trab], ix[trab]] = T.MYO
        flow[iy[trab], ix[trab]] = 0.0
        if 0.15 < t < 0.8:
            for ang, frac, size in g.pap:
                size_t = size * (1.0 - 0.5 * abs(t - 0.45) / 0.35)
                rr = r_endo0 * frac
                ou, ov = rr * math.cos(ang), rr * math.sin(ang)
                cy, cx = _to_image(hcy, hcx, g.heart_rot, ou, ov)
                wl = _window(cy, cx, 2 * size_t, grid, margin)
                pf = _Frame(yy[wl], xx[wl], hcy, hcx, g.heart_rot)
                pm = pf.ellipse(ou, ov, size_t, size_t * 1.25, ang)
                # the papillary window in the heart window's index space
                oy, ox = wl[0].start - sl[0].start, wl[1].start - sl[1].start
                if oy < 0 or ox < 0:
                    continue
                region = (slice(oy, oy + pm.shape[0]), slice(ox, ox + pm.shape[1]))
                pm = pm[: cav[region].shape[0], : cav[region].shape[1]] & cav[region]
                tissue[region][pm] = T.MYO
                flow[region][pm] = 0.0
        if t < 0.12:  # LV outflow tract: anteroseptal gap in the wall, LV label
            lvot = myo & (_sector(u, v, r, -2.2, 0.35) > 0)
            tissue[lvot] = T.BLOOD
            label[lvot] = LV
            flow[lvot] = 1.0
            myo &= ~lvot

    _render_pathology(
        g.pathology, t, u, v, r, r_endo, r_epi, fine, f.edge[sl], myo, tissue, label, sev
    )


def _render_pathology(p, t, u, v, r, r_endo, r_epi, fine, edge, myo, tissue, label, sev) -> None:
    """Scar / oedema / MVO inside the LV myocardium (evaluated on myocardium pixels only)."""
    kind = p["kind"]
    if kind == "none":
        return
    # longitudinal taper: 1 inside the extent, falling to 0 just outside it
    lon = min(1.0, (t - p["t_from"] + 0.05) / 0.15, (p["t_to"] + 0.05 - t) / 0.15)
    if lon <= 0:
        return
    T = Tissue
    iy, ix = np.nonzero(myo)
    if iy.size == 0:
        return
    uu, vv, rr = u[iy, ix], v[iy, ix], r[iy, ix]
    re, rp, fi = r_endo[iy, ix], r_epi[iy, ix], fine[iy, ix]
    w = np.clip((rr - re) / np.maximum(rp - re, 1e-3), 0.0, 1.0)  # 0 endo .. 1 epi
    hw = p["half_width"] * (1.0 + edge[iy, ix]) * lon
    a = _sector(uu, vv, rr, p["centre"], hw)
    grow = p["edema_grow"]
    mvo = None
    if kind == "ischaemic":
        tau = p["transmurality"] * np.sqrt(a)
        scar = (a > 0) & (w < tau)
        a_e = _sector(uu, vv, rr, p["centre"], hw + p["edema_extra"])
        tau_e = min(1.0, p["transmurality"] + 0.4) * a_e**0.3
        edema = (a_e > 0) & (w < tau_e)
        core = np.clip((tau - w) / 0.25, 0.0, 1.0) * np.clip(a / 0.3, 0.0, 1.0)
        if p["mvo"] and p["transmurality"] > 0.6:
            mvo = scar & (w < 0.4 * tau) & (a > 0.55)
    elif kind == "midwall":
        half = p["band"] * np.sqrt(a) * (1.0 + 0.4 * np.clip(fi, -1, 1))
        dist = np.abs(w - p["mid"])
        scar = (a > 0) & (dist < half)
        edema = (a > 0) & (dist < half + grow)
        core = np.clip((half - dist) / 0.1, 0.0, 1.0)
    elif kind == "epicardial":
        tau = p["transmurality"] * np.sqrt(a) * (1.0 + 0.3 * np.clip(fi, -1, 1))
        scar = (a > 0) & (w > 1.0 - tau)
        edema = (a > 0) & (w > 1.0 - tau - grow)
        core = np.clip((w - 1.0 + tau) / 0.2, 0.0, 1.0)
    else:  # patchy
        thr = p["threshold"] + 0.8 * (1.0 - a)
        scar = (a > 0) & (fi > thr)
        edema = (a > 0) & (fi > thr - 0.5 - grow)
        core = np.clip((fi - thr) / 0.4, 0.0, 1.0)
    edema &= ~scar
    ey, ex = iy[edema], ix[edema]
    tissue[ey, ex] = T.EDEMA
    label[ey, ex] = EDEMA
    sev[ey, ex] = 0.75 + 0.25 * np.clip(fi[edema], -1.0, 1.0)
    sy, sx = iy[scar], ix[scar]
    tissue[sy, sx] = T.SCAR
    label[sy, sx] = SCAR
    sev[sy, sx] = 0.55 + 0.45 * core[scar]
    if mvo is not None and mvo.any():
        tissue[iy[mvo], ix[mvo]] = T.MVO
        sev[iy[mvo], ix[mvo]] = 1.0


# =========================================================================== public API


def _slice_depths(
    g: _Geometry, n_slices: int, slice_mm: float, rng: np.random.Generator
) -> np.ndarray:
    """Centre depth (mm below the base) of each output slice."""
    if n_slices == 1:
        return np.array([g.lv_len * rng.uniform(0.38, 0.55)])
    span_lo, span_hi = -4.0, g.lv_len
    centre = 0.5 * (span_lo + span_hi) + rng.normal(0, 2)
    return centre + (np.arange(n_slices) - (n_slices - 1) / 2.0) * slice_mm


def simulate_anatomy(
    seed: int | np.random.Generator,
    *,
    size: int = 128,
    n_slices: int = 1,
    pixel_mm: float = 1.5,
    slice_mm: float = 8.0,
    pathology: bool | float = 0.8,
    supersample: int = 2,
    z_supersample: int | None = None,
    texture: float = 1.0,
) -> Anatomy:
    """Generate the tissue map of one short-axis case (no MR or CT appearance yet).

    Args:
        seed: Seed or generator; the same seed gives the same anatomy (and
            ``simulate_case(seed)`` uses exactly this anatomy).
        size: Output matrix (size x size).
        n_slices: 1 = a mid-ventricular slice (Z = 1); more = a base-to-apex stack centred
            on the LV, ``slice_mm`` apart (thick slices, no gap).
        pixel_mm: Output in-plane pixel size (mm); the field of view is ``size * pixel_mm``.
        slice_mm: Slice thickness and spacing (mm) of stacks.
        pathology: Probability that the heart has scar/oedema (``True`` = always).
        supersample: In-plane supersampling factor for partial volume.
        z_supersample: Sub-planes per thick slice; default 1 for a single slice and
            ``ceil(slice_mm / 2.5)`` for stacks.
        texture: Scale of the tissue texture amplitude.

    Returns:
        An :class:`Anatomy`.
    """
    if size < 16 or n_slices < 1 or pixel_mm <= 0 or slice_mm <= 0 or supersample < 1:
        raise ValueError(
            f"invalid geometry: size={size}, n_slices={n_slices}, pixel_mm={pixel_mm}, "
            f"slice_mm={slice_mm}, supersample={supersample}"
        )
    rng = make_rng(seed)
    present = (
        bool(rng.random() < float(pathology)) if not isinstance(pathology, bool) else pathology
    )
    g = _draw_geometry(rng, present)
    sz = z_supersample or (1 if n_slices == 1 else max(1, math.ceil(slice_mm / 2.5)))
    px_hi = pixel_mm / supersample
    n_hi = size * supersample
    grid = _base_grid(n_hi, px_hi)
    f = _draw_fields(rng, (n_hi, n_hi), g, px_hi, texture)
    depths = _slice_depths(g, n_slices, slice_mm, rng)
    if n_slices == 1 and present:
        _ensure_covers(g.pathology, float(depths[0]) / g.lv_len)
    sub = (np.arange(sz) + 0.5) / sz - 0.5  # sub-plane offsets in slice units
    shape_hi = (n_slices * sz, n_hi, n_hi)
    tissue = np.empty(shape_hi, np.uint8)
    lab_hi = np.empty(shape_hi, np.uint8)
    sev = np.empty(shape_hi, np.float32)
    flow = np.empty(shape_hi, np.float32)
    sub_depths = []
    for i, d in enumerate(depths):
        for j, o in enumerate(sub):
            dd = float(d + o * slice_mm) if sz > 1 else float(d)
            plane = _render_plane(g, f, grid, dd)
            k = i * sz + j
            tissue[k], lab_hi[k], sev[k], flow[k] = (
                plane.tissue,
                plane.label,
                plane.severity,
                plane.flow,
            )
            sub_depths.append(dd)
    texture_hi = np.broadcast_to(f.texture, shape_hi)
    labels = _pool_labels(lab_hi, (sz, supersample), (n_slices, size, size))
    info = {
        "seed": seed if isinstance(seed, int) else None,
        "args": {
            "size": size,
            "n_slices": n_slices,
            "pixel_mm": pixel_mm,
            "slice_mm": slice_mm,
            "pathology": pathology,
            "supersample": supersample,
            "z_supersample": z_supersample,
            "texture": texture,
        },
        "depth_mm": [float(d) for d in depths],
        "depth_frac": [float(d / g.lv_len) for d in depths],
        "lv_length_mm": float(g.lv_len),
        "lv_endo_radius_mm": float(g.lv_r_endo),
        "lv_wall_mm": float(g.lv_wall),
        "pathology": {k: v for k, v in g.pathology.items() if k != "edge"},
    }
    return Anatomy(
        tissue=tissue,
        texture=texture_hi,
        severity=sev,
        flow=flow,
        labels=labels,
        supersample=(sz, supersample),
        spacing=(float(slice_mm), float(pixel_mm), float(pixel_mm)),
        info=info,
    )


def _ensure_covers(p: dict[str, Any], t: float) -> None:
    """Stretch the pathology's longitudinal extent so a single slice at ``t`` shows it."""
    if p["kind"] == "none":
        return
    p["t_from"] = min(p["t_from"], t - 0.1)
    p["t_to"] = max(p["t_to"], t + 0.1)


def _pool_labels(hi: np.ndarray, factors: tuple[int, int], out_shape) -> np.ndarray:
    """Partial-volume labels: the class with the largest fraction in each output voxel.

    Ties go to the higher label code (structures win over background, scar over myocardium).
    """
    sz, s = factors
    if sz == 1 and s == 1:
        return hi.copy()
    best = np.zeros(out_shape, np.uint8)
    best_count = np.zeros(out_shape, np.int16)
    views = [hi[:, j::s, k::s] for j in range(s) for k in range(s)]
    for c in range(int(hi.max()) + 1):
        count = np.zeros((hi.shape[0],) + out_shape[1:], np.int16)
        for view in views:
            count += view == c
        if sz > 1:
            count = count.reshape(out_shape[0], sz, *out_shape[1:]).sum(axis=1, dtype=np.int16)
        better = count >= best_count
        best[better] = c
        best_count = np.maximum(count, best_count)
    return best


def regenerate_anatomy(case: CardiacCase | Anatomy) -> Anatomy:
    """The anatomy of a case made by :func:`simulate_case` (regenerated from its seed)."""
    if isinstance(case, Anatomy):
        return case
    info = case.info
    if info.get("seed") is None or "args" not in info:
        raise ValueError("case.info lacks 'seed'/'args': it was not made by simulate_case(seed)")
    return simulate_anatomy(info["seed"], **info["args"])


# --------------------------------------------------------------------------- MR rendering


def _jittered_table(rng: np.random.Generator, preset: AcquisitionPreset) -> dict[str, np.ndarray]:
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


def _sequence_signal(name: str, lut: dict[str, np.ndarray], pd, t1, t2, t1p, seq_params):
    """Signal of sequence ``name`` for arrays of tissue parameters (per tissue or per pixel)."""
    if name == "bssfp":
        p = seq_params
        return bssfp_signal(pd, t1, t2, p.tr, p.te, p.flip_deg)
    if name == "t2":
        p = seq_params
        return t2_stir_signal(pd, t1, t2, p.ti, p.tr, p.te)  # flow applied per pixel later
    if name == "lge":
        p = seq_params
        return ir_signal(pd, t1p, p.ti, p.rr)
    raise ValueError(f"unknown sequence {name!r}; choose from {SEQUENCES}")


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
        rng_mr, rng_acq = seed, seed
    else:
        rng_mr, rng_acq = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    lut = _jittered_table(rng_mr, preset)
    T = Tissue
    # sequence settings for this case
    params: dict[str, Any] = {
        "bssfp": BSSFPParams(flip_deg=float(rng_mr.uniform(*preset.flip_deg))),
    }
    rr = float(rng_mr.uniform(800, 1100))
    t2p = T2StirParams(tr=2 * rr, te=float(rng_mr.uniform(60, 80)))
    t2p = T2StirParams(
        tr=t2p.tr,
        te=t2p.te,
        ti=ti_null(float(lut["t1"][T.FAT]), t2p.tr),
        residual=float(rng_mr.uniform(0.03, 0.1)),
    )
    params["t2"] = t2p
    ti_err = float(rng_mr.uniform(-preset.ti_error, preset.ti_error))
    ti0 = ti_null(float(lut["t1_post"][T.MYO]), rr)
    params["lge"] = LGEParams(rr=rr, ti=ti0 * (1 + ti_err), ti_error=ti_err)

    tissue = anatomy.tissue
    patho = anatomy.severity > 0
    patho_idx = np.flatnonzero(patho)
    tis_p = tissue.ravel()[patho_idx]
    sev_p = anatomy.severity.ravel()[patho_idx]
    # per-pixel relaxation times for pathological pixels: interpolate from remote myocardium
    myo = {k: float(v[T.MYO]) for k, v in lut.items()}
    pd_p = lut["pd"][tis_p]
    t1_p = 1.0 / ((1 - sev_p) / myo["t1"] + sev_p / lut["t1"][tis_p])
    t2_p = (1 - sev_p) * myo["t2"] + sev_p * lut["t2"][tis_p]
    t1post_p = 1.0 / ((1 - sev_p) / myo["t1_post"] + sev_p / lut["t1_post"][tis_p])
    clean: dict[str, np.ndarray] = {}
    ref_signal: dict[str, float] = {}
    for name in sequences:
        sig_lut = _sequence_signal(
            name, lut, lut["pd"], lut["t1"], lut["t2"], lut["t1_post"], params[name]
        ).astype(np.float32)
        hi = sig_lut[tissue]
        if patho_idx.size:
            hi.ravel()[patho_idx] = _sequence_signal(
                name, lut, pd_p, t1_p, t2_p, t1post_p, params[name]
            )
        hi *= anatomy.texture
        if name == "t2":
            hi *= 1.0 - anatomy.flow * (1.0 - t2p.residual)
        clean[name] = anatomy.pool(hi)
        ref_tissue = T.BLOOD if name == "lge" else T.MYO
        ref_signal[name] = float(sig_lut[ref_tissue])

    images: dict[str, np.ndarray] = {}
    acq_info: dict[str, dict[str, Any]] = {}
    for name in sequences:
        snr = float(rng_acq.uniform(*preset.snr[name]))
        res_frac = (
            1.0
            if preset.resolution_mm is None
            else min(1.0, anatomy.spacing[1] / preset.resolution_mm)
        )
        settings = SequenceAcquisition(
            sigma=ref_signal[name] / snr,
            kspace_fraction=float(rng_acq.uniform(*preset.kspace_fraction[name])),
            resolution_fraction=res_frac,
            pe_axis=int(rng_acq.integers(0, 2)),
            bias_strength=preset.bias_strength,
            coil_falloff=preset.coil_falloff,
            ghosting=preset.ghosting,
        )
        acq_info[name] = settings.as_dict()
        acq_info[name]["snr"] = snr
        if acquire_images:
            raw = acquire(clean[name], settings, rng_acq, pixel_mm=anatomy.spacing[1])
        else:
            raw = clean[name]
        images[name], _ = normalise(raw)

    info = dict(anatomy.info)
    info.update(
        preset=preset.describe(),
        tissues={t.name.lower(): {k: float(v[t]) for k, v in lut.items()} for t in Tissue},
        sequences={
            "bssfp": dict(params["bssfp"].__dict__),
            "t2": dict(params["t2"].__dict__),
            "lge": dict(params["lge"].__dict__, ti_null=ti0),
        },
        reference_signal=ref_signal,
        acquisition={
            k: {kk: vv for kk, vv in v.items() if kk != "snr"} for k, v in acq_info.items()
        },
        snr={k: v["snr"] for k, v in acq_info.items()},
    )
    return CardiacCase(
        images=images, labels=anatomy.labels.copy(), spacing=anatomy.spacing, info=info, clean=clean
    )


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
        preset: Appearance preset or its name (see :data:`~.domains.CENTRE_PRESETS`).

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

"""The random shape of one case: every scalar of the anatomy, drawn once per case (mm, radians).

:func:`draw_geometry` draws, in a fixed order (the order is part of the phantom: the same seed
gives the same heart), the left ventricle's size, the ribs, the heart's pose, the right
ventricle, the pericardium, the body and its organs, and the pathology. Each group is a small
frozen dataclass; the planes of a case are then drawn from them at any depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A rib: (angle round the body centre, length, width); angles in radians, lengths in mm.
Rib = tuple[float, float, float]
#: A papillary muscle: (angle in the heart frame, radius as a fraction of the endocardial
#: radius, size in mm).
Papillary = tuple[float, float, float]


@dataclass(frozen=True)
class HeartPose:
    """Where the heart sits: centre (mm, image y and x), rotation, tilt (mm of shift per mm)."""

    cy: float
    cx: float
    rot: float
    tilt: tuple[float, float]

    def at(self, depth: float) -> tuple[float, float, float]:
        """The heart frame (centre y, centre x, rotation) at ``depth`` mm below the base."""
        return self.cy + self.tilt[0] * depth, self.cx + self.tilt[1] * depth, self.rot


@dataclass(frozen=True)
class LeftVentricle:
    """A truncated prolate ellipsoid: length, basal radius, wall, and what lines the cavity."""

    length: float  # epicardial base-to-apex length
    r_endo: float  # basal endocardial radius
    wall: float
    apex_wall: float
    papillary: list[Papillary]
    rim_mm: float  # slow-flow rim at the endocardium
    trab_mm: float  # trabecular band width


@dataclass(frozen=True)
class RightVentricle:
    """An ellipse in the heart frame wrapped round the septum; ends before the LV apex."""

    ou: float
    ov: float
    au: float
    av: float
    rot: float
    len_frac: float  # RV length as a fraction of the LV length
    wall: float


@dataclass(frozen=True)
class Pericardium:
    """Epicardial fat, the size of the sac round the heart and the pericardial fluid (mm)."""

    fat_mm: float
    sac_scale: float
    fluid_mm: float


@dataclass(frozen=True)
class Body:
    """The thorax: an ellipse with skin fat and muscle, ribs, spine, aorta, upper abdomen."""

    cy: float
    cx: float
    rot: float
    ay: float
    ax: float
    subcut_mm: float
    muscle_mm: float
    ribs: list[Rib]
    spine_off: float
    aorta: tuple[float, float, float]  # (radius, u and v offset from the spine)
    liver_depth: float  # depth fraction of the LV where the liver dome appears
    stomach_depth: float

    @property
    def pose(self) -> tuple[float, float, float]:
        return self.cy, self.cx, self.rot

    @property
    def spine(self) -> tuple[float, float]:
        """Frame (u, v) of the vertebral body's centre."""
        return self.spine_off, self.ay - 42.0


@dataclass(frozen=True)
class Geometry:
    """All random scalar shape parameters of one case."""

    heart: HeartPose
    lv: LeftVentricle
    rv: RightVentricle
    sac: Pericardium
    body: Body
    warp_mm: float
    pathology: dict[str, Any]


#: Heart-frame angle (degrees) of a territory's centre: 0 lateral, +90 inferior, 180 septal,
#: -90 anterior.
TERRITORIES = {"lad": (-140.0, -80.0), "lcx": (-30.0, 40.0), "rca": (80.0, 130.0)}


def draw_geometry(rng: np.random.Generator, pathology: bool) -> Geometry:
    """Draw every shape parameter of a case (the draw order is fixed: it is the phantom)."""
    r_endo, wall, length, papillary = _draw_lv_size(rng)
    ribs = _draw_ribs(rng)
    pose = rng.normal(-4, 5), rng.normal(10, 5), math.radians(rng.normal(0, 12))
    apex_wall = rng.uniform(4.0, 6.5)
    rv = _draw_rv(rng, r_endo + wall)
    sac = Pericardium(
        fat_mm=rng.uniform(1.0, 4.0),
        sac_scale=rng.uniform(0.9, 1.0),
        fluid_mm=rng.uniform(0.5, 2.0) if rng.random() < 0.4 else 0.0,
    )
    body = _draw_body(rng, ribs)
    rim_mm, trab_mm = rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0)
    tilt = (rng.normal(0, 0.08), rng.normal(0, 0.08))
    return Geometry(
        heart=HeartPose(*pose, tilt=tilt),
        lv=LeftVentricle(length, r_endo, wall, apex_wall, papillary, rim_mm, trab_mm),
        rv=rv,
        sac=sac,
        body=body,
        warp_mm=rng.uniform(2.0, 4.5),
        pathology=draw_pathology(rng, pathology),
    )


def _draw_lv_size(rng: np.random.Generator) -> tuple[float, float, float, list[Papillary]]:
    """Basal endocardial radius, wall, length (mm) and the two papillary muscles."""
    size = rng.normal(1.0, 0.07)
    dilated = rng.random() < 0.15
    r_endo = rng.uniform(22, 27) * size * (1.2 if dilated else 1.0)
    wall = rng.uniform(7.0, 10.5) * (0.75 if dilated else 1.0)
    length = rng.uniform(74, 90) * size
    papillary = [
        (math.radians(rng.normal(-50, 12)), rng.uniform(0.55, 0.72), rng.uniform(3.2, 5.5)),
        (math.radians(rng.normal(115, 12)), rng.uniform(0.55, 0.72), rng.uniform(3.5, 6.0)),
    ]
    return r_endo, wall, length, papillary


def _draw_rib(rng: np.random.Generator, angle_deg: float) -> Rib:
    return math.radians(angle_deg + rng.normal(0, 6)), rng.uniform(9, 15), rng.uniform(5, 8)


def _draw_ribs(rng: np.random.Generator) -> list[Rib]:
    """Five to seven anterior ribs, and each of four lateral ones with probability 0.7."""
    ribs = [_draw_rib(rng, a) for a in np.linspace(-160, -20, int(rng.integers(5, 8)))]
    for a in (-5.0, 25.0, 155.0, 185.0):
        if rng.random() < 0.7:
            ribs.append(_draw_rib(rng, a))
    return ribs


def _draw_rv(rng: np.random.Generator, r_epi: float) -> RightVentricle:
    return RightVentricle(
        ou=-r_epi * rng.uniform(0.75, 0.95),
        ov=r_epi * rng.uniform(-0.15, 0.05),
        au=r_epi * rng.uniform(0.85, 1.0),
        av=r_epi * rng.uniform(1.0, 1.2),
        rot=math.radians(rng.normal(-8, 10)),
        len_frac=rng.uniform(0.7, 0.85),
        wall=rng.uniform(2.5, 4.0),
    )


def _draw_body(rng: np.random.Generator, ribs: list[Rib]) -> Body:
    return Body(
        cy=rng.normal(22, 6),
        cx=rng.normal(-12, 8),
        rot=math.radians(rng.normal(0, 8)),
        ay=rng.uniform(95, 112),
        ax=rng.uniform(140, 170),
        subcut_mm=rng.uniform(6, 20),
        muscle_mm=rng.uniform(8, 16),
        ribs=ribs,
        spine_off=rng.normal(0, 8),
        aorta=(rng.uniform(9, 13), rng.normal(32, 5), rng.normal(-28, 5)),
        liver_depth=rng.uniform(0.4, 1.0),
        stomach_depth=rng.uniform(0.5, 1.1),
    )


# --------------------------------------------------------------------------- pathology


def _ischaemic(rng: np.random.Generator) -> dict[str, Any]:
    """Scar from the endocardium in one coronary territory (the LAD's reaches the apex)."""
    territory = str(rng.choice(list(TERRITORIES), p=[0.5, 0.2, 0.3]))
    lo, hi = TERRITORIES[territory]
    lad = territory == "lad"
    return dict(
        territory=territory,
        centre=math.radians(rng.uniform(lo, hi)),
        half_width=math.radians(rng.uniform(22, 60)),
        transmurality=float(rng.uniform(0.3, 1.0)),
        edema_extra=math.radians(rng.uniform(12, 35)),
        # longitudinal extent as fractions of the LV length
        t_from=float(rng.uniform(0.0, 0.3) if not lad else rng.uniform(0.15, 0.45)),
        t_to=float(rng.uniform(0.65, 0.9)) if not lad else 1.0,
        mvo=bool(rng.random() < 0.35),
    )


def _midwall(rng: np.random.Generator) -> dict[str, Any]:
    """A band in the middle of the septal wall."""
    return dict(
        centre=math.radians(rng.uniform(150, 210)),
        half_width=math.radians(rng.uniform(30, 80)),
        band=float(rng.uniform(0.1, 0.2)),
        mid=float(rng.uniform(0.4, 0.6)),
        t_from=0.0,
        t_to=float(rng.uniform(0.6, 1.0)),
    )


def _epicardial(rng: np.random.Generator) -> dict[str, Any]:
    """Scar from the epicardium, inferolateral."""
    return dict(
        centre=math.radians(rng.uniform(-10, 70)),
        half_width=math.radians(rng.uniform(35, 80)),
        transmurality=float(rng.uniform(0.2, 0.5)),
        t_from=0.0,
        t_to=float(rng.uniform(0.6, 1.0)),
    )


def _patchy(rng: np.random.Generator) -> dict[str, Any]:
    """Thresholded fine noise in a wide sector."""
    return dict(
        centre=float(rng.uniform(-math.pi, math.pi)),
        half_width=math.radians(rng.uniform(70, 160)),
        threshold=float(rng.uniform(0.55, 0.85)),
        t_from=0.0,
        t_to=1.0,
    )


_PATHOLOGY_KINDS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "ischaemic": _ischaemic,
    "midwall": _midwall,
    "epicardial": _epicardial,
    "patchy": _patchy,
}


def draw_pathology(rng: np.random.Generator, present: bool) -> dict[str, Any]:
    """The kind of scar (ischaemic 62 %, mid-wall, epicardial, patchy) and its parameters."""
    if not present:
        return {"kind": "none"}
    kind = rng.choice(list(_PATHOLOGY_KINDS), p=[0.62, 0.13, 0.13, 0.12])
    p: dict[str, Any] = {"kind": str(kind), **_PATHOLOGY_KINDS[str(kind)](rng)}
    p["edema_grow"] = float(rng.uniform(0.12, 0.3))
    return p


# --------------------------------------------------------------------------- one plane


@dataclass(frozen=True)
class Level:
    """The heart's sizes in the plane ``depth`` mm below the LV base (negative: above it).

    Attributes:
        depth: mm below the base. t: depth as a fraction of the LV length (0 base, 1 apex).
        pose: Heart frame (centre y, centre x, rotation) at this depth (the heart is tilted).
        epi_scale, endo_scale: Radius factors of the ellipsoidal epicardium and endocardium.
        r_epi, r_endo: Mean epicardial and endocardial radii (mm).
        rv_scale: Radius factor of the RV (0 beyond its apex).
        sac_r: Radius of the pericardial sac (mm), for the anterior mediastinum.
    """

    depth: float
    t: float
    pose: tuple[float, float, float]
    epi_scale: float
    endo_scale: float
    r_epi: float
    r_endo: float
    rv_scale: float
    sac_r: float

    @property
    def above_base(self) -> bool:
        return self.depth < 0


def _ellipsoid_scale(t: float) -> float:
    """Radius factor of an ellipsoid's section at fraction ``t`` of its half-length."""
    return math.sqrt(max(0.0, 1.0 - t * t))


def level_at(geo: Geometry, depth: float) -> Level:
    """The heart's sizes at ``depth`` (above the base the atrium continues at full radius)."""
    lv, rv = geo.lv, geo.rv
    t = depth / lv.length
    epi_scale = _ellipsoid_scale(t)
    endo_scale = _ellipsoid_scale(depth / (lv.length - lv.apex_wall))
    if depth < 0:  # above the base: the atrium continues with a thin wall
        epi_scale = endo_scale = 1.0
    r_epi = (lv.r_endo + lv.wall) * epi_scale
    rv_scale = _ellipsoid_scale(depth / (rv.len_frac * lv.length)) if depth >= 0 else 0.9
    return Level(
        depth=depth,
        t=t,
        pose=geo.heart.at(depth),
        epi_scale=epi_scale,
        endo_scale=endo_scale,
        r_epi=r_epi,
        r_endo=lv.r_endo * endo_scale,
        rv_scale=rv_scale,
        sac_r=max(r_epi, 5.0) + 0.6 * (rv.au * rv_scale),
    )

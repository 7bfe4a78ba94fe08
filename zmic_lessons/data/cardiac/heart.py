"""The heart in one plane: pericardium, atrium above the base, right and left ventricles.

Drawn in the heart's own window and frame (``u`` lateral, ``v`` inferior, ``r`` the distance to
the LV axis, all mm): the pericardial sac with epicardial fat, fibrous pericardium and fluid;
above the base, the left atrium and aortic root; below it, the RV free wall and cavity with
trabeculae, the LV myocardium and cavity with trabeculae, papillary muscles and the outflow
tract, and last the pathology on the LV myocardium (:mod:`.pathology`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..labels import LV, MYO, RV
from ..physics import Tissue
from .fields import ShapeFields
from .frames import Canvas, View, sector
from .geometry import Geometry, Level
from .pathology import MyoWall, draw_pathology


def heart_view(canvas: Canvas, geo: Geometry, level: Level) -> View:
    """The window round the pericardial sac (shifted towards the RV), in the heart frame."""
    hcy, hcx, rot = level.pose
    shift = -0.35 * geo.rv.au * level.rv_scale
    window = canvas.window(
        hcy + shift * math.sin(rot), hcx + shift * math.cos(rot), level.sac_r + 8.0
    )
    return canvas.view(window, level.pose)


@dataclass
class RVSection:
    """The RV ellipse at one level; ``depth`` = mm inside its outline (None: no RV here)."""

    ou: float
    au: float
    av: float
    depth: np.ndarray | None

    @property
    def present(self) -> bool:
        return self.depth is not None


def _rv_section(view: View, geo: Geometry, level: Level, fields: ShapeFields) -> RVSection:
    rv, scale = geo.rv, level.rv_scale
    au, av = rv.au * scale, rv.av * scale
    ou = rv.ou * (0.6 + 0.4 * scale)
    if not (scale > 0.05 and not level.above_base):
        return RVSection(ou, au, av, None)
    rho = np.sqrt(view.frame.rho2(ou, rv.ov, au, av, rv.rot))
    depth = (1.0 + fields.rv[view.window] - rho) * math.sqrt(au * av)
    return RVSection(ou, au, av, depth)


def draw_heart(canvas: Canvas, geo: Geometry, fields: ShapeFields, level: Level) -> None:
    """Paint the heart of one plane (see the module docstring for the order)."""
    view = heart_view(canvas, geo, level)
    r_epi = level.r_epi + fields.epi[view.window] * level.epi_scale
    r_endo = level.r_endo + fields.endo[view.window] * level.endo_scale
    wall = MyoWall(r_endo=np.minimum(r_endo, r_epi - 3.0), r_epi=r_epi)
    rv = _rv_section(view, geo, level, fields)
    _draw_pericardium(view, geo, level, wall, rv, fields)
    if level.above_base:
        _draw_atrium(view, level, fields)
        return
    lv_outer = view.r < wall.r_epi
    if rv.present:
        _draw_rv(view, geo, rv, lv_outer, fields)
    myo = lv_outer & (view.r >= wall.r_endo)
    view.tissue[myo] = Tissue.MYO
    view.label[myo] = MYO
    if level.r_endo > 1.0:
        cavity = _draw_lv_cavity(view, geo, level, wall, fields)
        if 0.15 < level.t < 0.8:
            _draw_papillary(canvas, view, geo, level, cavity)
        if level.t < 0.12:
            myo &= ~_draw_lvot(view, myo)
    fine, edge = fields.fine[view.window], fields.edge[view.window]
    draw_pathology(geo.pathology, level.t, view, wall, myo, fine, edge)


def _draw_pericardium(
    view: View,
    geo: Geometry,
    level: Level,
    wall: MyoWall,
    rv: RVSection,
    fields: ShapeFields,
) -> None:
    """The sac (heart dilated by the fat, plus a groove filler), its wall and its fluid.

    The groove filler is an ellipse just circumscribing LV and RV, so fat collects in the AV
    and interventricular grooves.
    """
    fat, epi = fields.fat[view.window], fields.epi[view.window]
    scale, r_epi0 = geo.sac.sac_scale, level.r_epi
    x_left = (rv.ou - rv.au) if rv.present else -r_epi0
    g_cu = 0.5 * (x_left + r_epi0)
    g_au = max(0.5 * (r_epi0 - x_left) * scale, 1.0)
    g_av = max(max(rv.av if rv.present else 0.0, r_epi0) * 0.92 * scale, 1.0)
    rho_g = np.sqrt(view.frame.rho2(g_cu, 0.0, g_au, g_av)) * g_au  # ~mm

    def sac_at(extra: float) -> np.ndarray:
        m = (view.r < wall.r_epi + fat + extra) | (rho_g < g_au + 0.5 * epi + extra)
        if rv.present:
            m |= rv.depth > -(1.0 + 0.5 * fat + extra)
        return m

    sac = sac_at(0.0)
    view.tissue[sac_at(1.3) & ~sac] = Tissue.MUSCLE  # fibrous pericardium
    view.tissue[sac] = Tissue.FAT
    if geo.sac.fluid_mm > 0:  # pericardial fluid at the edge of the sac, mostly inferolateral
        edge = sac & ~sac_at(-geo.sac.fluid_mm) & (view.frame.v > -0.3 * view.r)
        view.tissue[edge] = Tissue.FLUID


def _draw_atrium(view: View, level: Level, fields: ShapeFields) -> None:
    """Above the base: left atrium and aortic root (blood, thin wall, background label)."""
    r, tissue, flow = view.r, view.tissue, view.flow
    la_r = level.r_endo * 0.9 + fields.endo[view.window]
    tissue[r < la_r + 2.0] = Tissue.MYO
    atrium = r < la_r
    tissue[atrium] = Tissue.BLOOD
    flow[atrium] = 0.6
    ao_u, ao_v = -0.55 * level.r_epi, -0.75 * level.r_epi
    tissue[view.frame.ellipse(ao_u, ao_v, 15.0, 15.0)] = Tissue.MYO
    aorta = view.frame.ellipse(ao_u, ao_v, 13.0, 13.0)
    tissue[aorta] = Tissue.BLOOD
    flow[aorta] = 1.0


def _draw_rv(
    view: View, geo: Geometry, rv: RVSection, lv_outer: np.ndarray, fields: ShapeFields
) -> None:
    """RV free wall (myocardial tissue, background label), cavity and trabeculae."""
    wall_mm = geo.rv.wall
    view.tissue[(rv.depth > 0) & ~lv_outer] = Tissue.MYO
    cavity = (rv.depth > wall_mm) & ~lv_outer
    view.tissue[cavity] = Tissue.BLOOD
    view.label[cavity] = RV
    iy, ix = np.nonzero(cavity)
    d_in = rv.depth[iy, ix] - wall_mm
    view.flow[iy, ix] = 0.75 + 0.25 * np.clip(d_in / (geo.lv.rim_mm + 1.0), 0.0, 1.0)
    trab = (d_in < 3.0) & (fields.fine[view.window][iy, ix] > 1.0)
    view.tissue[iy[trab], ix[trab]] = Tissue.MYO


def _draw_lv_cavity(
    view: View, geo: Geometry, level: Level, wall: MyoWall, fields: ShapeFields
) -> np.ndarray:
    """LV blood (slow near the wall) and trabeculae (myocardium, LV label); the cavity mask."""
    cavity = view.r < wall.r_endo
    view.tissue[cavity] = Tissue.BLOOD
    view.label[cavity] = LV
    iy, ix = np.nonzero(cavity)
    d_wall = wall.r_endo[iy, ix] - view.r[iy, ix]  # mm from the endocardium
    view.flow[iy, ix] = 0.65 + 0.35 * np.clip(d_wall / geo.lv.rim_mm, 0.0, 1.0)
    band = fields.trab[view.window][iy, ix] * (0.6 + 0.8 * level.t)
    trab = fields.fine[view.window][iy, ix] > 0.3 + 1.3 * d_wall / band
    view.tissue[iy[trab], ix[trab]] = Tissue.MYO
    view.flow[iy[trab], ix[trab]] = 0.0
    return cavity


def _draw_papillary(
    canvas: Canvas, view: View, geo: Geometry, level: Level, cavity: np.ndarray
) -> None:
    """Two papillary muscles in the cavity (largest mid-ventricle), each in its own window."""
    t, heart = level.t, view.window
    for angle, frac, size in geo.lv.papillary:
        size_t = size * (1.0 - 0.5 * abs(t - 0.45) / 0.35)
        rr = level.r_endo * frac
        ou, ov = rr * math.cos(angle), rr * math.sin(angle)
        window, frame = canvas.around(level.pose, ou, ov, 2 * size_t)
        muscle = frame.ellipse(ou, ov, size_t, size_t * 1.25, angle)
        # the papillary window in the heart window's index space
        oy, ox = window[0].start - heart[0].start, window[1].start - heart[1].start
        if oy < 0 or ox < 0:
            continue
        region = (slice(oy, oy + muscle.shape[0]), slice(ox, ox + muscle.shape[1]))
        inside = cavity[region]
        muscle = muscle[: inside.shape[0], : inside.shape[1]] & inside
        view.tissue[region][muscle] = Tissue.MYO
        view.flow[region][muscle] = 0.0


def _draw_lvot(view: View, myo: np.ndarray) -> np.ndarray:
    """Basal LV outflow tract: an anteroseptal gap in the wall, LV label; returns its mask."""
    lvot = myo & (sector(view.frame.u, view.frame.v, view.r, -2.2, 0.35) > 0)
    view.tissue[lvot] = Tissue.BLOOD
    view.label[lvot] = LV
    view.flow[lvot] = 1.0
    return lvot

"""Everything round the heart in one plane: chest wall, ribs, mediastinum, lungs, abdomen, spine.

Drawn in this order (later shapes paint over earlier ones): the body wall (skin fat, muscle,
the thoracic cavity filled with lung), ribs and sternum at the inner edge of the muscle, the
anterior and posterior mediastinal fat, lung vessels, the liver dome and the stomach in apical
planes, then the spine, paraspinal muscles, descending aorta and oesophagus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..physics import Tissue
from .fields import ShapeFields
from .frames import Canvas, Ellipse, Frame, FramePose, to_image
from .geometry import Body, Level


@dataclass
class Trunk:
    """Masks of the body in one plane: inside the skin, and the thoracic cavity (mutable)."""

    inside: np.ndarray
    thorax: np.ndarray


def draw_thorax(canvas: Canvas, body: Body, fields: ShapeFields, level: Level) -> Trunk:
    """Paint every structure outside the heart; return the body masks."""
    trunk = draw_body_wall(canvas, body, fields)
    draw_ribs_and_sternum(canvas, body, fields)
    draw_mediastinum(canvas, body, fields, level, trunk)
    draw_lung_vessels(canvas, fields)
    draw_liver(canvas, body, fields, level.t, trunk)
    draw_stomach(canvas, body, level.t, trunk)
    draw_spine_and_aorta(canvas, body, trunk)
    return trunk


def _depth_in_body(frame: Frame, body: Body, fields: ShapeFields) -> np.ndarray:
    """Depth (mm) below the skin of every pixel (negative outside the body)."""
    r_mean = math.sqrt(body.ax * body.ay)
    return (1.0 + fields.body - np.sqrt(frame.rho2(0.0, 0.0, body.ax, body.ay))) * r_mean


def draw_body_wall(canvas: Canvas, body: Body, fields: ShapeFields) -> Trunk:
    """Skin fat, chest-wall muscle and the thoracic cavity (lung by default)."""
    depth_mm = _depth_in_body(Frame(canvas.yy, canvas.xx, *body.pose), body, fields)
    tissue = canvas.tissue
    inside = depth_mm > 0
    tissue[inside] = Tissue.MUSCLE
    tissue[inside & (depth_mm < fields.subcut)] = Tissue.FAT
    thorax = depth_mm > fields.subcut + fields.muscle
    tissue[thorax] = Tissue.LUNG
    return Trunk(inside, thorax)


def _wall_point(
    canvas: Canvas, body: Body, fields: ShapeFields, angle: float, frac_muscle: float
) -> tuple[float, float]:
    """Body-frame (u, v) of a point in the chest wall at ``angle``, ``frac_muscle`` deep in
    the muscle (0: under the skin fat, 1: at the inner edge)."""
    grid, n = canvas.grid, canvas.grid.shape[0]
    r_mean = math.sqrt(body.ax * body.ay)
    ca, sa = math.cos(angle), math.sin(angle)
    rr = 1.0 / math.sqrt((ca / body.ax) ** 2 + (sa / body.ay) ** 2)
    y0, x0 = to_image(body.pose, rr * ca, rr * sa)
    iy = int(np.clip(round((y0 - grid[0]) / (grid[1] - grid[0])), 0, n - 1))
    ix = int(np.clip(round((x0 - grid[0]) / (grid[1] - grid[0])), 0, n - 1))
    d_in = (
        float(fields.subcut[iy, ix] + frac_muscle * fields.muscle[iy, ix])
        - float(fields.body[iy, ix]) * r_mean
    )
    return (rr - d_in) * ca, (rr - d_in) * sa


def _bone(canvas: Canvas, pose: FramePose, radius: float, outer: Ellipse) -> None:
    """A bone: cortex in ``outer``, marrow inside it 1.5 mm deeper."""
    window, sub = canvas.around(pose, outer.ou, outer.ov, radius)
    tis = canvas.tissue[window]
    tis[sub.ellipse(outer.ou, outer.ov, outer.au, outer.av, outer.rot)] = Tissue.BONE
    inner = (outer.au - 1.5, outer.av - 1.5)
    tis[sub.ellipse(outer.ou, outer.ov, *inner, outer.rot)] = Tissue.MARROW


def draw_ribs_and_sternum(canvas: Canvas, body: Body, fields: ShapeFields) -> None:
    """Ribs at the inner edge of the muscle (long axis along the wall), then the sternum."""
    for angle, length, width in body.ribs:
        ou, ov = _wall_point(canvas, body, fields, angle, 1.0)
        rib = Ellipse(ou, ov, length / 2, width / 2, angle + math.pi / 2)
        _bone(canvas, body.pose, length, rib)
    ou, ov = _wall_point(canvas, body, fields, -math.pi / 2, 0.6)
    _bone(canvas, body.pose, 20, Ellipse(ou, ov, 16, 7))


def draw_mediastinum(
    canvas: Canvas, body: Body, fields: ShapeFields, level: Level, trunk: Trunk
) -> None:
    """Fat between the RV and the sternum (with nodes) and in front of the spine."""
    tissue = canvas.tissue
    c_ant = (-12.0, -0.8 * level.sac_r - 4.0)
    window, sub = canvas.around(level.pose, *c_ant, 26)
    m = sub.ellipse(*c_ant, 16.0, 9.0, 0.3, fields.body[window] * 5) & trunk.thorax[window]
    tissue[window][m] = Tissue.FAT
    tissue[window][m & (fields.coarse[window] > 1.0)] = Tissue.MUSCLE  # thymus, lymph nodes
    sp_u, sp_v = body.spine
    c_post = (sp_u + 14.0, sp_v - 24.0)
    window, sub = canvas.around(body.pose, *c_post, 32)
    m = sub.ellipse(*c_post, 30.0, 22.0, 0.0, fields.body[window] * 3) & trunk.thorax[window]
    tissue[window][m] = Tissue.FAT


def draw_lung_vessels(canvas: Canvas, fields: ShapeFields) -> None:
    """Pulmonary vessels: the peaks of a smooth field inside the lung."""
    vessel = (fields.vessels > 1.75) & (canvas.tissue == Tissue.LUNG)
    canvas.tissue[vessel] = Tissue.BLOOD
    canvas.flow[vessel] = 1.0


def draw_liver(canvas: Canvas, body: Body, fields: ShapeFields, t: float, trunk: Trunk) -> None:
    """The liver dome under the diaphragm, with hepatic veins, growing towards the apex."""
    if t <= body.liver_depth - 0.25:
        return
    grow = min(1.0, (t - body.liver_depth + 0.25) / 0.5)
    ax, ay = 95.0 * grow + 5, 55.0 * grow + 5
    c_u, c_v = -75.0, body.ay - 35.0 - 30.0 * grow
    window, sub = canvas.around(body.pose, c_u, c_v, ax + 5)
    in_thorax = trunk.thorax[window]
    rho2 = sub.rho2(c_u, c_v, ax, ay, 0.3)
    lim = (1.0 + 2 * fields.body[window]) ** 2
    diaphragm = (rho2 < lim * (1 + 4 / ay) ** 2) & in_thorax
    liver = (rho2 < lim) & in_thorax
    veins = liver & (fields.vessels[window] < -1.7)
    canvas.tissue[window][diaphragm] = Tissue.MUSCLE
    canvas.tissue[window][liver] = Tissue.LIVER
    canvas.tissue[window][veins] = Tissue.BLOOD
    canvas.flow[window][veins] = 0.7
    trunk.thorax[window] &= ~diaphragm


def draw_stomach(canvas: Canvas, body: Body, t: float, trunk: Trunk) -> None:
    """The stomach (wall, fluid, an air cap) in apical planes."""
    if t <= body.stomach_depth - 0.3:
        return
    grow = min(1.0, (t - body.stomach_depth + 0.3) / 0.4)
    c_u, c_v = 70.0, body.ay - 55.0
    window, sub = canvas.around(body.pose, c_u, c_v, 50)
    in_thorax = trunk.thorax[window]
    outer = sub.ellipse(c_u, c_v, 45.0 * grow + 3, 32.0 * grow + 3, -0.4) & in_thorax
    inner = sub.ellipse(c_u, c_v, 45.0 * grow, 32.0 * grow, -0.4) & in_thorax
    tissue: np.ndarray = canvas.tissue[window]
    tissue[outer] = Tissue.MUSCLE
    tissue[inner] = Tissue.FLUID
    tissue[inner & (sub.v < c_v - 12.0 * grow)] = Tissue.AIR


def _posterior_structures(body: Body) -> list[tuple[Ellipse, Tissue]]:
    """Spine (with canal and cord), aorta and oesophagus, in painting order (body frame)."""
    sp_u, sp_v = body.spine
    a_r, a_du, a_dv = body.aorta
    return [
        (Ellipse(sp_u, sp_v - 2.0, 21.0, 18.0), Tissue.FAT),
        (Ellipse(sp_u, sp_v, 18.0, 15.0), Tissue.BONE),
        (Ellipse(sp_u, sp_v, 16.5, 13.5), Tissue.MARROW),
        (Ellipse(sp_u, sp_v + 24.0, 9.0, 9.0), Tissue.BONE),
        (Ellipse(sp_u, sp_v + 24.0, 7.5, 7.5), Tissue.FLUID),
        (Ellipse(sp_u, sp_v + 24.0, 4.0, 4.5), Tissue.MUSCLE),  # cord
        (Ellipse(sp_u + a_du, sp_v + a_dv, a_r + 1.5, a_r + 1.5), Tissue.MUSCLE),  # aortic wall
        (Ellipse(sp_u + a_du, sp_v + a_dv, a_r, a_r), Tissue.BLOOD),
        (Ellipse(sp_u + 6.0, sp_v - 28.0, 8.0, 6.0), Tissue.MUSCLE),  # oesophagus
        (Ellipse(sp_u + 6.0, sp_v - 28.0, 2.5, 2.0), Tissue.AIR),
    ]


def draw_spine_and_aorta(canvas: Canvas, body: Body, trunk: Trunk) -> None:
    """Paraspinal muscles, then the posterior structures, each in its own small window."""
    sp_u, sp_v = body.spine
    for side in (-1.0, 1.0):
        muscle = Ellipse(sp_u + side * 30.0, sp_v + 30.0, 22.0, 26.0)
        window, m = canvas.blob(body.pose, muscle)
        canvas.tissue[window][m & trunk.inside[window]] = Tissue.MUSCLE
    for shape, tissue in _posterior_structures(body):
        window, m = canvas.blob(body.pose, shape)
        canvas.tissue[window][m] = tissue
        if tissue == Tissue.BLOOD:
            canvas.flow[window][m] = 1.0

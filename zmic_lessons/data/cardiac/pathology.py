"""Scar, oedema and microvascular obstruction on the LV myocardium of one plane.

Every kind of lesion lives in an angular sector of the wall (:func:`~.frames.sector`) whose
width tapers at the ends of its longitudinal extent, and is described by where a pixel lies
across the wall (``w``: 0 at the endocardium, 1 at the epicardium):

* **ischaemic**: scar from the endocardium outwards, as far as the transmurality (deepest at
  the sector's centre), a dark MVO core in large transmural scars, oedema (area at risk)
  wider and deeper than the scar;
* **mid-wall**: a band round the middle of the wall; **epicardial**: scar from the epicardium;
* **patchy**: thresholded fine noise in a wide sector.

Each pixel gets a ``severity`` (grey zone at the edges, 1 in MVO) besides its tissue and label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..labels import EDEMA, SCAR
from ..physics import Tissue
from .frames import View, sector


@dataclass
class MyoWall:
    """Endocardial and epicardial radius (mm) of every pixel of a heart window."""

    r_endo: np.ndarray
    r_epi: np.ndarray


@dataclass
class WallPixels:
    """The LV myocardium's pixels of one plane, as flat arrays.

    Attributes:
        iy, ix: Their indices in the heart window.
        u, v, r: Heart-frame coordinates (mm).
        w: Position across the wall, 0 endocardium .. 1 epicardium.
        fine: The fine random field (texture of the lesion's edges).
        half_width: The sector's half-width (radians), jittered and tapered.
        a: The sector's weight, 1 at its centre .. 0 at its edge.
    """

    iy: np.ndarray
    ix: np.ndarray
    u: np.ndarray
    v: np.ndarray
    r: np.ndarray
    w: np.ndarray
    fine: np.ndarray
    half_width: np.ndarray
    a: np.ndarray


@dataclass
class Lesion:
    """Masks over :class:`WallPixels`: scar, oedema (may overlap the scar), MVO; scar ``core``
    in [0, 1] (0.55 + 0.45 core is the scar's severity)."""

    scar: np.ndarray
    edema: np.ndarray
    core: np.ndarray
    mvo: np.ndarray | None = None


def _ischaemic(p: dict[str, Any], px: WallPixels) -> Lesion:
    a, w = px.a, px.w
    tau = p["transmurality"] * np.sqrt(a)
    scar = (a > 0) & (w < tau)
    a_e = sector(px.u, px.v, px.r, p["centre"], px.half_width + p["edema_extra"])
    tau_e = min(1.0, p["transmurality"] + 0.4) * a_e**0.3
    edema = (a_e > 0) & (w < tau_e)
    core = np.clip((tau - w) / 0.25, 0.0, 1.0) * np.clip(a / 0.3, 0.0, 1.0)
    mvo = None
    if p["mvo"] and p["transmurality"] > 0.6:
        mvo = scar & (w < 0.4 * tau) & (a > 0.55)
    return Lesion(scar, edema, core, mvo)


def _midwall(p: dict[str, Any], px: WallPixels) -> Lesion:
    a = px.a
    half = p["band"] * np.sqrt(a) * (1.0 + 0.4 * np.clip(px.fine, -1, 1))
    dist = np.abs(px.w - p["mid"])
    scar = (a > 0) & (dist < half)
    edema = (a > 0) & (dist < half + p["edema_grow"])
    return Lesion(scar, edema, np.clip((half - dist) / 0.1, 0.0, 1.0))


def _epicardial(p: dict[str, Any], px: WallPixels) -> Lesion:
    a, w = px.a, px.w
    tau = p["transmurality"] * np.sqrt(a) * (1.0 + 0.3 * np.clip(px.fine, -1, 1))
    scar = (a > 0) & (w > 1.0 - tau)
    edema = (a > 0) & (w > 1.0 - tau - p["edema_grow"])
    return Lesion(scar, edema, np.clip((w - 1.0 + tau) / 0.2, 0.0, 1.0))


def _patchy(p: dict[str, Any], px: WallPixels) -> Lesion:
    a, fine = px.a, px.fine
    thr = p["threshold"] + 0.8 * (1.0 - a)
    scar = (a > 0) & (fine > thr)
    edema = (a > 0) & (fine > thr - 0.5 - p["edema_grow"])
    return Lesion(scar, edema, np.clip((fine - thr) / 0.4, 0.0, 1.0))


_LESIONS: dict[str, Callable[[dict[str, Any], WallPixels], Lesion]] = {
    "ischaemic": _ischaemic,
    "midwall": _midwall,
    "epicardial": _epicardial,
    "patchy": _patchy,
}


def _wall_pixels(
    p: dict[str, Any],
    lon: float,
    view: View,
    wall: MyoWall,
    myo: np.ndarray,
    texture: tuple[np.ndarray, np.ndarray],
) -> WallPixels | None:
    """Gather the myocardium's pixels and their sector weight (``None``: no myocardium)."""
    iy, ix = np.nonzero(myo)
    if iy.size == 0:
        return None
    fine, edge = texture
    u, v, r = view.frame.u[iy, ix], view.frame.v[iy, ix], view.r[iy, ix]
    r_endo, r_epi = wall.r_endo[iy, ix], wall.r_epi[iy, ix]
    w = np.clip((r - r_endo) / np.maximum(r_epi - r_endo, 1e-3), 0.0, 1.0)
    half_width = p["half_width"] * (1.0 + edge[iy, ix]) * lon
    a = sector(u, v, r, p["centre"], half_width)
    return WallPixels(iy, ix, u, v, r, w, fine[iy, ix], half_width, a)


def _paint(view: View, px: WallPixels, lesion: Lesion) -> None:
    """Oedema where there is no scar, then scar, then MVO, with their severities."""
    edema = lesion.edema & ~lesion.scar
    ey, ex = px.iy[edema], px.ix[edema]
    view.tissue[ey, ex] = Tissue.EDEMA
    view.label[ey, ex] = EDEMA
    view.severity[ey, ex] = 0.75 + 0.25 * np.clip(px.fine[edema], -1.0, 1.0)
    scar = lesion.scar
    sy, sx = px.iy[scar], px.ix[scar]
    view.tissue[sy, sx] = Tissue.SCAR
    view.label[sy, sx] = SCAR
    view.severity[sy, sx] = 0.55 + 0.45 * lesion.core[scar]
    mvo = lesion.mvo
    if mvo is not None and mvo.any():
        view.tissue[px.iy[mvo], px.ix[mvo]] = Tissue.MVO
        view.severity[px.iy[mvo], px.ix[mvo]] = 1.0


def draw_pathology(
    p: dict[str, Any],
    t: float,
    view: View,
    wall: MyoWall,
    myo: np.ndarray,
    fine: np.ndarray,
    edge: np.ndarray,
) -> None:
    """Paint the case's pathology ``p`` on the myocardium ``myo`` of the plane at depth ``t``.

    Args:
        p: The case's pathology (:func:`~.geometry.draw_pathology`).
        t: Depth fraction of the plane (0 base, 1 apex).
        view: The heart window.
        wall: Endo- and epicardial radii of its pixels.
        myo: LV myocardium mask of the window.
        fine, edge: The case's fine texture and sector-width jitter, cropped to the window.
    """
    if p["kind"] == "none":
        return
    # longitudinal taper: 1 inside the extent, falling to 0 just outside it
    lon = min(1.0, (t - p["t_from"] + 0.05) / 0.15, (p["t_to"] + 0.05 - t) / 0.15)
    if lon <= 0:
        return
    px = _wall_pixels(p, lon, view, wall, myo, (fine, edge))
    if px is not None:
        _paint(view, px, _LESIONS[p["kind"]](p, px))

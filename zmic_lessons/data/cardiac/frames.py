"""Coordinates for drawing the phantom: rotated frames, ellipses, windows, angular sectors.

Every shape is given in millimetres in some *frame*: a centre ``(cy, cx)`` on the image and a
rotation. :class:`Frame` holds a grid's coordinates in such a frame (``u`` lateral, ``v``
inferior); :class:`Canvas` is one plane being drawn: the warped grid and the four maps a plane
carries (tissue, label, pathology severity, blood flow). Shapes are evaluated only inside a
small window of the grid around them (:meth:`Canvas.window`), which is what keeps a plane fast.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: A frame: image centre (y, x) in mm and rotation (radians).
FramePose = tuple[float, float, float]
#: Index slices (rows, columns) of a window of the grid.
Window = tuple[slice, slice]


class Frame:
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


def to_image(pose: FramePose, u: float, v: float) -> tuple[float, float]:
    """Image (y, x) mm of the point ``(u, v)`` of a frame."""
    cy, cx, rot = pose
    c, s = math.cos(rot), math.sin(rot)
    return cy + s * u + c * v, cx + c * u - s * v


@functools.lru_cache(maxsize=16)
def base_grid(n: int, px: float) -> np.ndarray:
    """Pixel centres (mm) of an ``n``-pixel axis of pitch ``px``, centred on 0 (cached)."""
    grid = (np.arange(n, dtype=np.float32) - (n - 1) / 2.0) * px
    grid.flags.writeable = False
    return grid


def sector(u, v, r, centre: float, half_width) -> np.ndarray:
    """Smooth angular bump: 1 at ``centre``, 0 beyond ``half_width`` (radians, may be an array).

    Uses cosines only (no arctan2): ``(cos d - cos hw) / (1 - cos hw)`` clipped to [0, 1].
    """
    cosd = (u * math.cos(centre) + v * math.sin(centre)) / np.maximum(r, 1e-3)
    chw = np.cos(np.minimum(half_width, 3.0))
    return np.clip((cosd - chw) / (1.0 - chw), 0.0, 1.0)


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in a frame: centre ``(ou, ov)``, semi-axes ``(au, av)`` (mm), rotation."""

    ou: float
    ov: float
    au: float
    av: float
    rot: float = 0.0


@dataclass
class View:
    """A window of a plane seen in a frame: its pixels' coordinates and views of the maps.

    Writing into ``tissue``, ``label``, ``severity`` or ``flow`` writes into the plane.
    ``r`` is the distance (mm) to the frame's centre.
    """

    window: Window
    pose: FramePose
    frame: Frame
    r: np.ndarray
    tissue: np.ndarray
    label: np.ndarray
    severity: np.ndarray
    flow: np.ndarray


@dataclass
class Canvas:
    """One plane being drawn: the warped grid (mm) and the maps painted on it.

    Attributes:
        grid: The unwarped pixel centres of one axis (mm), :func:`base_grid`.
        yy, xx: Warped image coordinates (mm) of every pixel, ``(n, n)``.
        margin: Largest displacement plus 2 mm: how far a window reaches past a shape.
        tissue: ``uint8`` tissue codes. label: ``uint8`` label codes.
        severity: ``float32`` pathology strength. flow: ``float32`` blood motion.
    """

    grid: np.ndarray
    yy: np.ndarray
    xx: np.ndarray
    margin: float
    tissue: np.ndarray
    label: np.ndarray
    severity: np.ndarray
    flow: np.ndarray

    @classmethod
    def empty(cls, grid: np.ndarray, dy: np.ndarray, dx: np.ndarray, max_disp: float) -> Canvas:
        """A blank plane on ``grid`` displaced by the fields ``(dy, dx)`` (mm)."""
        n = grid.shape[0]
        return cls(
            grid=grid,
            yy=grid[:, None] + dy,
            xx=grid[None, :] + dx,
            margin=max_disp + 2.0,
            tissue=np.zeros((n, n), np.uint8),
            label=np.zeros((n, n), np.uint8),
            severity=np.zeros((n, n), np.float32),
            flow=np.zeros((n, n), np.float32),
        )

    @property
    def pixel_mm(self) -> float:
        return float(self.grid[1] - self.grid[0])

    def window(self, cy: float, cx: float, radius: float) -> Window:
        """Index slices of the (unwarped) grid covering a disc of ``radius`` mm (plus margin)."""
        grid = self.grid
        px = float(grid[1] - grid[0])
        n = grid.shape[0]
        r = radius + self.margin
        lo_y = int(min(n, max(0, math.floor((cy - r - grid[0]) / px))))
        hi_y = int(min(n, max(0, math.ceil((cy + r - grid[0]) / px) + 1)))
        lo_x = int(min(n, max(0, math.floor((cx - r - grid[0]) / px))))
        hi_x = int(min(n, max(0, math.ceil((cx + r - grid[0]) / px) + 1)))
        return slice(lo_y, max(lo_y, hi_y)), slice(lo_x, max(lo_x, hi_x))

    def frame(self, window: Window, pose: FramePose) -> Frame:
        """The coordinates of a window's pixels in the frame ``pose``."""
        return Frame(self.yy[window], self.xx[window], *pose)

    def view(self, window: Window, pose: FramePose) -> View:
        """The window's pixels in the frame ``pose`` and views of the plane's maps."""
        frame = self.frame(window, pose)
        r = np.sqrt(frame.u * frame.u + frame.v * frame.v)
        maps = (self.tissue, self.label, self.severity, self.flow)
        return View(window, pose, frame, r, *(m[window] for m in maps))

    def around(self, pose: FramePose, u: float, v: float, radius: float) -> tuple[Window, Frame]:
        """The window round the frame point ``(u, v)`` and its pixels' frame coordinates."""
        cy, cx = to_image(pose, u, v)
        window = self.window(cy, cx, radius)
        return window, self.frame(window, pose)

    def blob(self, pose: FramePose, shape: Ellipse) -> tuple[Window, np.ndarray]:
        """An ellipse given in a frame, evaluated only in its own window."""
        window, sub = self.around(pose, shape.ou, shape.ov, max(shape.au, shape.av))
        return window, sub.ellipse(shape.ou, shape.ov, shape.au, shape.av, shape.rot)

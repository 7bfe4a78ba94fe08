"""The smooth random fields of one case, shared by all its planes (elastic warp, textures, jitter).

Each field is a :func:`~zmic_lessons.data.scanner.smooth_field` at a length scale in mm; drawn
once per case in a fixed order (the order is part of the phantom).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scanner import smooth_field
from .geometry import Geometry


@dataclass
class ShapeFields:
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


def draw_fields(
    rng: np.random.Generator,
    shape: tuple[int, int],
    geo: Geometry,
    px: float,
    texture_amp: float = 1.0,
) -> ShapeFields:
    """Draw the fields of a case on its hi-res grid of ``shape`` pixels of ``px`` mm."""
    fov = shape[0] * px

    def field(scale_mm: float, std: float) -> np.ndarray:
        return smooth_field(rng, shape, max(4, int(round(fov / scale_mm)) + 3), std)

    warp = geo.warp_mm
    dy = field(30.0, warp) + field(90.0, 2.0 * warp)
    dx = field(30.0, warp) + field(90.0, 2.0 * warp)
    max_disp = float(max(np.abs(dy).max(), np.abs(dx).max()))
    texture = 1.0 + 0.05 * texture_amp * (0.6 * field(4.0, 1.6) + 0.4 * field(12.0, 1.6))
    return ShapeFields(
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
        fat=np.maximum(field(12.0, 1.6 * geo.sac.fat_mm) + 0.5 * geo.sac.fat_mm, 0.0),
        body=field(60.0, 0.05),
        subcut=np.maximum(geo.body.subcut_mm * (1.0 + field(50.0, 0.5)), 2.0),
        muscle=np.maximum(geo.body.muscle_mm * (1.0 + field(40.0, 0.5)), 3.0),
        trab=np.maximum(geo.lv.trab_mm * (1.0 + field(15.0, 0.8)), 0.3),
        edge=field(20.0, 0.35),
    )

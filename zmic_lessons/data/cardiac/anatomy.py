"""The anatomy of a case: its geometry and fields drawn once, then every (sub)plane drawn.

:func:`simulate_anatomy` draws the case's :class:`~.geometry.Geometry` and
:class:`~.fields.ShapeFields`, places the slices along the LV, draws each supersampled plane
(:func:`render_plane`: the thorax, then the heart) and pools the labels to the output grid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...core.seed import make_rng
from .case import Anatomy, CardiacCase
from .fields import ShapeFields, draw_fields
from .frames import Canvas, base_grid
from .geometry import Geometry, draw_geometry, level_at
from .heart import draw_heart
from .thorax import draw_thorax


def render_plane(geo: Geometry, fields: ShapeFields, grid: np.ndarray, depth: float) -> Canvas:
    """Draw one plane at ``depth`` mm below the LV base (negative: above the base)."""
    canvas = Canvas.empty(grid, fields.dy, fields.dx, fields.max_disp)
    level = level_at(geo, depth)
    draw_thorax(canvas, geo.body, fields, level)
    draw_heart(canvas, geo, fields, level)
    return canvas


def _slice_depths(
    geo: Geometry, n_slices: int, slice_mm: float, rng: np.random.Generator
) -> np.ndarray:
    """Centre depth (mm below the base) of each output slice."""
    length = geo.lv.length
    if n_slices == 1:
        return np.array([length * rng.uniform(0.38, 0.55)])
    span_lo, span_hi = -4.0, length
    centre = 0.5 * (span_lo + span_hi) + rng.normal(0, 2)
    return centre + (np.arange(n_slices) - (n_slices - 1) / 2.0) * slice_mm


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


def _render_stack(
    geo: Geometry,
    fields: ShapeFields,
    grid: np.ndarray,
    depths: np.ndarray,
    slab: tuple[int, float],
) -> dict[str, np.ndarray]:
    """Every sub-plane of every slice: hi-res tissue, label, severity and flow stacks.

    ``slab`` is (sub-planes per slice, slice thickness in mm).
    """
    sz, slice_mm = slab
    offsets = (np.arange(sz) + 0.5) / sz - 0.5  # sub-plane offsets in slice units
    shape = (len(depths) * sz, grid.shape[0], grid.shape[0])
    dtypes = {"tissue": np.uint8, "label": np.uint8, "severity": np.float32, "flow": np.float32}
    stack = {name: np.empty(shape, dtype) for name, dtype in dtypes.items()}
    for i, depth in enumerate(depths):
        for j, offset in enumerate(offsets):
            plane_depth = float(depth + offset * slice_mm) if sz > 1 else float(depth)
            plane = render_plane(geo, fields, grid, plane_depth)
            for name in dtypes:
                stack[name][i * sz + j] = getattr(plane, name)
    return stack


def _check_args(size: int, n_slices: int, pixel_mm: float, slice_mm: float, supersample: int):
    if size < 16 or n_slices < 1 or pixel_mm <= 0 or slice_mm <= 0 or supersample < 1:
        raise ValueError(
            f"invalid geometry: size={size}, n_slices={n_slices}, pixel_mm={pixel_mm}, "
            f"slice_mm={slice_mm}, supersample={supersample}"
        )


def simulate_anatomy(  # noqa: PLR0913 - the phantom's documented keyword options (info["args"])
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
    args = {name: value for name, value in locals().items() if name != "seed"}
    _check_args(size, n_slices, pixel_mm, slice_mm, supersample)
    rng = make_rng(seed)
    present = pathology if isinstance(pathology, bool) else bool(rng.random() < float(pathology))
    geo = draw_geometry(rng, present)
    sz = z_supersample or (1 if n_slices == 1 else max(1, math.ceil(slice_mm / 2.5)))
    px_hi, n_hi = pixel_mm / supersample, size * supersample
    fields = draw_fields(rng, (n_hi, n_hi), geo, px_hi, texture)
    depths = _slice_depths(geo, n_slices, slice_mm, rng)
    if n_slices == 1 and present:
        _ensure_covers(geo.pathology, float(depths[0]) / geo.lv.length)
    stack = _render_stack(geo, fields, base_grid(n_hi, px_hi), depths, (sz, slice_mm))
    return Anatomy(
        tissue=stack["tissue"],
        texture=np.broadcast_to(fields.texture, stack["tissue"].shape),
        severity=stack["severity"],
        flow=stack["flow"],
        labels=_pool_labels(stack["label"], (sz, supersample), (n_slices, size, size)),
        supersample=(sz, supersample),
        spacing=(float(slice_mm), float(pixel_mm), float(pixel_mm)),
        info=_anatomy_info(seed, args, geo, depths),
    )


def _anatomy_info(
    seed: int | np.random.Generator, args: dict[str, Any], geo: Geometry, depths: np.ndarray
) -> dict[str, Any]:
    """The anatomy's ``info``: seed and arguments (to regenerate it), depths, LV size, pathology."""
    length = geo.lv.length
    return {
        "seed": seed if isinstance(seed, int) else None,
        "args": args,
        "depth_mm": [float(d) for d in depths],
        "depth_frac": [float(d / length) for d in depths],
        "lv_length_mm": float(length),
        "lv_endo_radius_mm": float(geo.lv.r_endo),
        "lv_wall_mm": float(geo.lv.wall),
        "pathology": {k: v for k, v in geo.pathology.items() if k != "edge"},
    }


def regenerate_anatomy(case: CardiacCase | Anatomy) -> Anatomy:
    """The anatomy of a case made by :func:`simulate_case` (regenerated from its seed)."""
    if isinstance(case, Anatomy):
        return case
    info = case.info
    if info.get("seed") is None or "args" not in info:
        raise ValueError("case.info lacks 'seed'/'args': it was not made by simulate_case(seed)")
    return simulate_anatomy(info["seed"], **info["args"])

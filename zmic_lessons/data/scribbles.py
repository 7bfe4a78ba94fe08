"""Scribble annotations made from dense labels, like the released MSCMR / ACDC scribbles.

A scribble is a thin stroke (1-2 px) drawn *inside* a structure: a random contiguous part of
the skeleton of the (eroded) structure, or, for blob-like structures whose skeleton is a dot,
a stroke through its interior. The background gets a broken ring around the heart a few
pixels outside it plus random strokes, until roughly 5-10 % of the pixels are annotated (the
MSCMR scribbles annotate about 6 %, mostly background). Every other pixel is
:data:`UNLABELLED`. Strokes never leave the structure they annotate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.draw import line as draw_line
from skimage.morphology import skeletonize

from ..core.seed import make_rng
from .labels import BACKGROUND

UNLABELLED = 255

_EIGHT = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _contiguous_part(mask: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A connected subset (breadth-first from a random pixel, 8-neighbours) of ``mask``."""
    ys, xs = np.nonzero(mask)
    out = np.zeros_like(mask)
    if ys.size == 0:
        return out
    target = max(1, int(round(fraction * ys.size)))
    start = int(rng.integers(ys.size))
    queue = deque([(int(ys[start]), int(xs[start]))])
    seen = {queue[0]}
    h, w = mask.shape
    count = 0
    while queue and count < target:
        y, x = queue.popleft()
        out[y, x] = True
        count += 1
        for dy, dx in _EIGHT:
            q = (y + dy, x + dx)
            if 0 <= q[0] < h and 0 <= q[1] < w and q not in seen and mask[q]:
                seen.add(q)
                queue.append(q)
    return out


def _stroke_through(region: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """A straight stroke through a random interior point at a random angle, clipped to region."""
    ys, xs = np.nonzero(region)
    out = np.zeros_like(region)
    if ys.size == 0:
        return out
    k = int(rng.integers(ys.size))
    cy, cx = ys[k], xs[k]
    ang = rng.uniform(0, np.pi)
    half = max(region.shape)
    y0, x0 = int(round(cy - half * np.sin(ang))), int(round(cx - half * np.cos(ang)))
    y1, x1 = int(round(cy + half * np.sin(ang))), int(round(cx + half * np.cos(ang)))
    rr, cc = draw_line(y0, x0, y1, x1)
    ok = (rr >= 0) & (rr < region.shape[0]) & (cc >= 0) & (cc < region.shape[1])
    rr, cc = rr[ok], cc[ok]
    on = np.zeros_like(region)
    on[rr, cc] = True
    on &= region
    # keep the connected piece through the chosen point, then a contiguous part of it
    lab, _ = ndimage.label(on, structure=np.ones((3, 3)))
    piece = lab == lab[cy, cx]
    return _contiguous_part(piece, fraction, rng) | out


def _thicken(path: np.ndarray, width: int, allowed: np.ndarray) -> np.ndarray:
    if width <= 1:
        return path & allowed
    grown = ndimage.binary_dilation(path, structure=np.ones((width, width), bool))
    return grown & allowed


def _scribble_slice(
    labels: np.ndarray,
    rng: np.random.Generator,
    classes: Sequence[int],
    width: tuple[int, int],
    coverage: tuple[float, float],
    target: tuple[float, float],
    ring_px: tuple[int, int],
) -> np.ndarray:
    out = np.full(labels.shape, UNLABELLED, np.uint8)
    cross = ndimage.generate_binary_structure(2, 1)
    for c in classes:
        if c == BACKGROUND:
            continue
        region = labels == c
        if region.sum() < 3:
            continue
        inner = ndimage.binary_erosion(region, structure=cross)
        allowed = inner if inner.sum() >= 3 else region
        skel = skeletonize(allowed)
        frac = rng.uniform(*coverage)
        # blob-like structures have a point-like skeleton: use a stroke through them instead
        if skel.sum() < 0.6 * np.sqrt(allowed.sum()):
            path = _stroke_through(allowed, rng, max(frac, 0.75))
        else:
            path = _contiguous_part(skel, frac, rng)
        stroke = _thicken(path, int(rng.integers(width[0], width[1] + 1)), allowed)
        out[stroke & (out == UNLABELLED)] = c
    if BACKGROUND in classes:
        _background(labels, out, rng, width, coverage, target, ring_px)
    return out


def _background(labels, out, rng, width, coverage, target, ring_px) -> None:
    bg = labels == BACKGROUND
    allowed = ndimage.binary_erosion(bg, structure=ndimage.generate_binary_structure(2, 1))
    fg = ~bg
    h, w = labels.shape
    if fg.any():
        dist = ndimage.distance_transform_edt(~fg)
        d = rng.uniform(*ring_px)
        ring = (dist >= d) & (dist < d + 1.0) & allowed
        path = _contiguous_part(
            skeletonize(ring) if ring.any() else ring, rng.uniform(max(coverage[0], 0.5), 0.95), rng
        )
        wid = int(rng.integers(width[0], width[1] + 1))
        out[_thicken(path, wid, allowed) & (out == UNLABELLED)] = BACKGROUND
        far = allowed & (dist > ring_px[1] + 2)
    else:
        far = allowed
    goal = rng.uniform(*target) * labels.size
    for _ in range(40):
        if (out != UNLABELLED).sum() >= goal or not far.any():
            break
        ys, xs = np.nonzero(far)
        k = int(rng.integers(ys.size))
        length = rng.uniform(0.1, 0.35) * max(h, w)
        ang = rng.uniform(0, 2 * np.pi)
        # a gently curved stroke: two segments with a kink
        y0, x0 = ys[k], xs[k]
        ym = int(round(y0 + 0.5 * length * np.sin(ang)))
        xm = int(round(x0 + 0.5 * length * np.cos(ang)))
        ang2 = ang + rng.normal(0, 0.4)
        y1 = int(round(ym + 0.5 * length * np.sin(ang2)))
        x1 = int(round(xm + 0.5 * length * np.cos(ang2)))
        stroke = np.zeros_like(far)
        for (a, b), (cdy, cdx) in (((y0, x0), (ym, xm)), ((ym, xm), (y1, x1))):
            rr, cc = draw_line(int(a), int(b), cdy, cdx)
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            stroke[rr[ok], cc[ok]] = True
        lab, _ = ndimage.label(stroke & far, structure=np.ones((3, 3)))
        piece = lab == lab[y0, x0]
        wid = int(rng.integers(width[0], width[1] + 1))
        out[_thicken(piece, wid, far) & (out == UNLABELLED)] = BACKGROUND


def scribbles_from_labels(
    labels: np.ndarray,
    seed: int | np.random.Generator,
    *,
    classes: Sequence[int] | None = None,
    width: tuple[int, int] = (1, 2),
    coverage: tuple[float, float] = (0.4, 0.8),
    target_fraction: tuple[float, float] = (0.05, 0.09),
    ring_px: tuple[float, float] = (3.0, 8.0),
) -> np.ndarray:
    """Simulate scribble annotations from a dense label map.

    Args:
        labels: Integer labels, (H, W) or (Z, H, W) (each slice is scribbled in 2D).
        seed: Seed or generator.
        classes: Label values to scribble; default all values present (background included).
            Pass e.g. ``(0, 1, 2, 3)`` after :func:`~zmic_lessons.data.labels.merge_pathology`
            for MSCMR-style scribbles.
        width: Range of stroke widths in pixels.
        coverage: Range of the fraction of a structure's skeleton (or stroke) kept.
        target_fraction: Background strokes are added until this fraction of the slice is
            annotated (the structures' strokes count towards it).
        ring_px: Range of the distance (px) of the background ring outside the structures.

    Returns:
        ``uint8`` array of the same shape: the class value on scribbled pixels,
        :data:`UNLABELLED` (255) elsewhere.
    """
    rng = make_rng(seed)
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise ValueError(f"labels must be (H, W) or (Z, H, W), got shape {labels.shape}")
    if labels.size and labels.max() >= UNLABELLED:
        raise ValueError(f"label values must be < {UNLABELLED}")
    vol = labels[None] if labels.ndim == 2 else labels
    cls = sorted(int(c) for c in (np.unique(vol) if classes is None else classes))
    out = np.stack(
        [_scribble_slice(s, rng, cls, width, coverage, target_fraction, ring_px) for s in vol]
    )
    return out[0] if labels.ndim == 2 else out


def scribble_fraction(scribbles: np.ndarray) -> float:
    """Fraction of annotated pixels."""
    return float(np.mean(np.asarray(scribbles) != UNLABELLED))

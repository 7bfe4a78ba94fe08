"""Initial placement of the atlas in the common space (before the MvMM's own ascent).

The ascent on the atlas translation has a capture range of a few pixels, so the atlas must
start near the heart. Two scores, used together by :func:`place_atlas`:

* **template matching**: the atlas cases' mean image (:func:`~.atlas.intensity_template`) is
  scaled and slid over the reference stack; normalised cross-correlation (NCC) over the heart
  region, all shifts at once by convolution, gives the best shift for every scale. NCC compares
  the whole picture (LV, RV, septum and the tissue around them), but compares scales poorly (a
  blurred mean template fits a range of sizes);
* **the MvMM log-likelihood** after a few EM steps (the fit's own objective at low resolution):
  it scores how well the classes explain the image, but it favours larger, blurrier placements
  (an uncommitted prior costs little): even on a perfect match it prefers the next larger scale
  (``tests/test_mvmm_placement.py``), and searched over a whole grid it misplaces the atlas on
  three of the MvMM chapter's seeds 0-7 (``benchmarks/bench_mvmm_seeds.py --placement grid``).

So NCC proposes one candidate per scale, those within ``ncc_margin`` of the best NCC stay (on a
perfect match only the right scale), and the likelihood chooses among them; a small likelihood
grid of shifts around the choice then corrects NCC's coarse localisation (a blurred template's
peak is broad). The grid search by likelihood alone (:func:`search_atlas_offset`) needs no
atlas image; the MvMM chapter keeps it as ``Settings.atlas_placement="grid"`` for comparison.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .atlas import roi_mask
from .em_fused import em
from .model import init_params, log_likelihood, log_prior_from_atlas
from .transforms import AtlasAffine, rotation

#: Scales (target heart size / atlas heart size) tried by :func:`place_atlas`.
DEFAULT_SCALES: tuple[float, ...] = tuple(round(0.70 + 0.03 * i, 2) for i in range(21))


#: In-plane orientations (degrees) tried by :func:`place_atlas`.
DEFAULT_ANGLES: tuple[float, ...] = (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0)


class PlacementWarning(UserWarning):
    """The template placement is unsure: its best NCC is low (the atlas may be off the heart)."""


def scaled_affine(
    scale: float, shift: Tensor | None = None, like: Tensor | None = None, angle_deg: float = 0.0
) -> AtlasAffine:
    """The atlas transform that shows the atlas ``scale`` times larger, turned, then moved.

    Args:
        scale: Size of the atlas in the common space relative to its own grid.
        shift: ``(dy, dx)`` displacement of the scaled atlas content (pixels), default none.
        like: Tensor whose device and dtype the transform takes.
        angle_deg: In-plane rotation of the atlas content (degrees, about the grid's centre).
    """
    ref = like if like is not None else torch.zeros(())
    out = AtlasAffine.identity(ref.device, ref.dtype)
    # A(p) = M (p - c) + c + s samples the atlas; M = R(-a) / scale shows it turned by a
    turn = rotation(torch.tensor(-math.radians(angle_deg), dtype=torch.float64))
    m = turn.to(device=ref.device, dtype=ref.dtype) / scale
    out.linear += m - torch.eye(2, device=ref.device, dtype=ref.dtype)
    if shift is not None:
        # content moved by d needs s = -M d
        out.shift -= m @ shift.to(ref)
    return out


def template_candidates(
    image: Tensor,
    template: Tensor,
    region: Tensor,
    *,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    max_shift_px: float = 24.0,
    pool: int = 2,
    angles: tuple[float, ...] = (0.0,),
) -> list[tuple[float, AtlasAffine]]:
    """Best NCC shift of the scaled and turned template for every scale and angle.

    Args:
        image: ``(Z, H, W)`` reference stack.
        template: ``(Z, H, W)`` atlas image on the atlas grid.
        region: ``(Z, H, W)`` weight on the atlas grid where NCC is measured (the heart and a
            margin around it).
        scales: Sizes to try (see :func:`scaled_affine`).
        max_shift_px: Largest shift in each direction (pixels).
        pool: Downsampling of the search (the shift step is ``pool`` pixels).
        angles: In-plane orientations to try (degrees).

    Returns:
        ``[(ncc, transform), ...]``, one per (scale, angle), scales outer, angles inner.
    """
    if image.shape != template.shape or template.shape != region.shape:
        raise ValueError(
            f"image, template and region must share a shape, got {tuple(image.shape)}, "
            f"{tuple(template.shape)} and {tuple(region.shape)}"
        )
    reach = int(max_shift_px // pool)
    target = F.pad(F.avg_pool2d(image[None], pool), (reach,) * 4)  # (1, Z, h, w)
    out = []
    for scale, angle in [(s, a) for s in scales for a in angles]:
        aff = scaled_affine(scale, like=image, angle_deg=angle)
        tmpl, weight = F.avg_pool2d(aff.warp(torch.stack([template, region])), pool)
        ys, xs = torch.nonzero(weight.sum(0) > 1e-3, as_tuple=True)
        if ys.numel() == 0:
            raise ValueError(f"the template region is empty at scale {scale}")
        y0, x0 = int(ys.min()), int(xs.min())
        box = (slice(None), slice(y0, int(ys.max()) + 1), slice(x0, int(xs.max()) + 1))
        tmpl, weight = tmpl[box], weight[box]
        n = weight.sum()
        centred = (tmpl - (tmpl * weight).sum() / n) * weight
        # weighted NCC at every shift: sum w (T - mean T)(I - local mean I) / norms, by conv
        num = F.conv2d(target, centred[None])[0, 0]
        s1 = F.conv2d(target, weight[None])[0, 0]
        s2 = F.conv2d(target**2, weight[None])[0, 0]
        var = (s2 - s1**2 / n).clamp_min(1e-12)
        ncc = num / torch.sqrt(var * (centred**2).sum())
        # output (i, j) puts the box's corner at padded (i, j): shift i - reach - y0 (pooled)
        iy = torch.arange(ncc.shape[0], device=ncc.device)[:, None] - reach - y0
        ix = torch.arange(ncc.shape[1], device=ncc.device)[None, :] - reach - x0
        ncc = ncc.masked_fill((iy.abs() > reach) | (ix.abs() > reach), -2.0)
        k = int(ncc.argmax())
        dy, dx = divmod(k, ncc.shape[1])
        d = torch.tensor([float(dy - reach - y0), float(dx - reach - x0)]) * pool
        out.append((float(ncc.flatten()[k]), scaled_affine(scale, d, like=image, angle_deg=angle)))
    return out


def best_by_likelihood(
    image: Tensor,
    atlas: Tensor,
    active: Tensor,
    candidates: list[AtlasAffine],
    *,
    em_steps: int = 2,
    pool: int = 2,
) -> AtlasAffine:
    """The candidate atlas transform with the highest MvMM log-likelihood.

    Each is scored after ``em_steps`` EM iterations on a ``pool``-times downsampled grid.

    Args:
        image: ``(1, Z, H, W)`` reference stack; atlas: ``(K, Z, H, W)``; active: ``(1, K, C)``.
        candidates: Transforms in full-resolution pixels.
    """
    if not candidates:
        raise ValueError("best_by_likelihood needs at least one candidate")
    small = F.avg_pool2d(image[0], pool)[None]
    small_atlas = F.avg_pool2d(atlas, pool)
    scores = []
    for cand in candidates:
        pooled = AtlasAffine(cand.linear, cand.shift / pool)
        with torch.no_grad():
            prior = pooled.warp(small_atlas)
            params, _ = em(small, init_params(small, prior, active), prior, n_iter=em_steps)
            scores.append(
                float(log_likelihood(small, params, log_prior_from_atlas(prior, params.w)))
            )
    best = max(range(len(candidates)), key=scores.__getitem__)
    return candidates[best].clone()


@dataclass(frozen=True)
class PlacementSearch:
    """Extent of :func:`place_atlas`'s searches.

    Attributes:
        scales: Atlas sizes tried (see :func:`scaled_affine`).
        max_shift_px: Largest shift in each direction (pixels).
        margin_px: Margin around the atlas's heart where NCC is measured (pixels).
        ncc_margin: Candidates whose NCC is lower than the best by more than this are dropped
            before the likelihood chooses.
        refine_px: Half-width of the final likelihood grid of shifts (step ``pool``; 0: none).
        pool: Downsampling of both searches.
        angles: In-plane orientations of the template (degrees).
        min_ncc: Below this best NCC the placement is unsure: :func:`place_atlas` warns
            (:class:`PlacementWarning`).
    """

    scales: tuple[float, ...] = DEFAULT_SCALES
    max_shift_px: float = 24.0
    margin_px: int = 6
    ncc_margin: float = 0.05
    refine_px: float = 4.0
    pool: int = 2
    angles: tuple[float, ...] = DEFAULT_ANGLES
    min_ncc: float = 0.5


def _refine(
    image: Tensor, atlas: Tensor, active: Tensor, best: AtlasAffine, search: PlacementSearch
) -> AtlasAffine:
    """The best of a likelihood grid of shifts (step ``pool``) around ``best``."""
    offsets = torch.arange(-search.refine_px, search.refine_px + 1e-6, float(search.pool))
    to_atlas = torch.eye(2).to(image) + best.linear  # common-space pixels -> atlas pixels
    local = []
    for dy in offsets.tolist():
        for dx in offsets.tolist():
            cand = best.clone()
            cand.shift -= to_atlas @ torch.tensor([dy, dx]).to(image)  # content moves by (dy, dx)
            local.append(cand)
    return best_by_likelihood(image, atlas, active, local, pool=search.pool)


def place_atlas(
    image: Tensor,
    atlas: Tensor,
    template: Tensor,
    active: Tensor,
    search: PlacementSearch = PlacementSearch(),
    info: dict[str, Any] | None = None,
) -> AtlasAffine:
    """Place the atlas: NCC proposes a shift per scale and angle, the MvMM likelihood chooses.

    Args:
        image: ``(1, Z, H, W)`` reference stack.
        atlas: ``(K, Z, H, W)`` probabilistic atlas; template: ``(Z, H, W)`` its mean image.
        active: ``(1, K, C)`` components used for the likelihood score.
        search: Scales, angles, shift range, NCC margin, refinement and downsampling.
        info: If given, filled with ``ncc`` (the best NCC: the placement's confidence, 1 is a
            perfect match), ``candidates`` (how many the likelihood chose from) and ``unsure``
            (``ncc < search.min_ncc``, when a :class:`PlacementWarning` is also issued).

    Returns:
        The initial :class:`AtlasAffine` for :func:`~.optimise.fit_mvmm`.
    """
    region = roi_mask(atlas, margin=search.margin_px).to(template)
    scored = template_candidates(
        image[0], template.to(image), region.to(image), scales=search.scales,
        max_shift_px=search.max_shift_px, pool=search.pool, angles=search.angles or (0.0,),
    )  # fmt: skip
    top = max(n for n, _ in scored)
    kept = [t for n, t in scored if n >= top - search.ncc_margin]
    if info is not None:
        info.update(ncc=top, candidates=len(kept), unsure=top < search.min_ncc)
    if top < search.min_ncc:
        warnings.warn(
            f"atlas placement unsure: best template NCC {top:.2f} < {search.min_ncc}",
            PlacementWarning, stacklevel=2,
        )  # fmt: skip
    best = best_by_likelihood(image, atlas, active, kept, pool=search.pool)
    if search.refine_px <= 0:
        return best
    return _refine(image, atlas, active, best, search)


def search_atlas_offset(
    image: Tensor,
    atlas: Tensor,
    active: Tensor,
    *,
    max_shift_px: float = 24.0,
    step_px: float = 4.0,
    scales: tuple[float, ...] = (0.85, 1.0, 1.15),
    em_steps: int = 2,
    pool: int = 2,
) -> AtlasAffine:
    """Exhaustive grid search of the atlas translation and scale by likelihood alone.

    Needs no atlas image; the module docstring says where it goes wrong.

    Args:
        image: ``(1, Z, H, W)`` reference stack; atlas: ``(K, Z, H, W)``; active: ``(1, K, C)``.

    Returns:
        The best :class:`AtlasAffine` (in full-resolution pixels).
    """
    offsets = torch.arange(-max_shift_px, max_shift_px + 1e-6, step_px).tolist()
    candidates = []
    for scale in scales:
        for dy in offsets:
            for dx in offsets:
                cand = scaled_affine(scale, like=image)
                cand.shift += torch.tensor([dy, dx], dtype=image.dtype, device=image.device)
                candidates.append(cand)
    return best_by_likelihood(image, atlas, active, candidates, em_steps=em_steps, pool=pool)

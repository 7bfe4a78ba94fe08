"""Acquisition effects (bias, k-space, noise) and multi-sequence misalignment.

Image formation (bias, k-space truncation, ghosting, Rician noise) lives in
:mod:`zmic_lessons.data.scanner` and is re-exported here; this module adds where each sequence
sits: the rigid transforms between the common space and each sequence's space, and
:func:`misalign`, which puts a phantom case's sequences into their own spaces.

Misalignment convention (read this before writing a registration method)
------------------------------------------------------------------------
A :class:`Rigid2D` ``T`` maps **common-space** pixel coordinates ``p = (y, x)`` to
**sequence-space** pixel coordinates::

    T(p) = R(angle) @ (p - c) + c + shift,    c = ((H - 1) / 2, (W - 1) / 2),
    R(a) = [[cos a, -sin a], [sin a, cos a]]  acting on (y, x)

and a sequence image satisfies ``I_seq(T(p)) = I_common(p)``. So resampling the sequence image
at ``T(p)`` for every common-space pixel ``p`` returns the common-space image
(:func:`resample_to_common`); a registration method that recovers ``T`` aligns the sequence to
the common space. To *make* a sequence image, the clean common image is read at ``T^{-1}(q)``
for every sequence pixel ``q`` (:func:`warp_to_sequence`), and only then are bias, k-space
truncation and noise applied, in the sequence's space: noise is never warped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from ..core.ops import scale_to_percentile
from ..core.seed import make_rng
from .scanner import (
    SequenceAcquisition,
    acquire,
    bias_field,
    bspline_matrix,
    normalise,
    smooth_field,
)

if TYPE_CHECKING:  # pragma: no cover
    from .cardiac import CardiacCase
    from .protocols import NativeSequence

__all__ = [
    "MisalignedCase",
    "Rigid2D",
    "SequenceAcquisition",
    "acquire",
    "bias_field",
    "bspline_matrix",
    "misalign",
    "normalise",
    "resample_to_common",
    "smooth_field",
    "warp_to_sequence",
]


# --------------------------------------------------------------------------- rigid transforms


def _rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


@dataclass(frozen=True)
class Rigid2D:
    """In-plane rigid transform from common space to a sequence's space (pixels, (y, x) order).

    ``T(p) = R(angle) @ (p - c) + c + shift`` with ``c`` the image centre ``((H-1)/2, (W-1)/2)``
    and ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` on (y, x). See the module docstring.

    Attributes:
        angle: Rotation (radians).
        shift: (dy, dx) in pixels.
    """

    angle: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)

    def matrix(self, shape: tuple[int, int]) -> np.ndarray:
        """3x3 homogeneous matrix acting on (y, x, 1) for an image of ``shape`` (H, W)."""
        c = np.array([(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0])
        r = _rot(self.angle)
        m = np.eye(3)
        m[:2, :2] = r
        m[:2, 2] = c - r @ c + np.asarray(self.shift, float)
        return m

    def inverse(self, shape: tuple[int, int] | None = None) -> Rigid2D:
        """The inverse transform (the centre convention makes it shape-independent)."""
        shift = -_rot(-self.angle) @ np.asarray(self.shift, float)
        return Rigid2D(-self.angle, (float(shift[0]), float(shift[1])))

    def apply(self, points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Map (N, 2) common-space (y, x) points to sequence space."""
        m = self.matrix(shape)
        return np.asarray(points, float) @ m[:2, :2].T + m[:2, 2]

    def then_shift(self, dy: float, dx: float) -> Rigid2D:
        """This transform followed by a translation (e.g. a per-slice breath-hold shift)."""
        return Rigid2D(self.angle, (self.shift[0] + dy, self.shift[1] + dx))

    @property
    def angle_deg(self) -> float:
        return float(np.rad2deg(self.angle))


def _affine(image: np.ndarray, m: np.ndarray, order: int) -> np.ndarray:
    """out[o] = image[m @ (o, 1)] for a 2D image (scipy's pull convention), zeros outside."""
    return ndimage.affine_transform(
        image,
        m[:2, :2],
        offset=m[:2, 2],
        order=order,
        mode="constant",
        cval=0.0,
        prefilter=order > 1,
    )


def warp_to_sequence(image: np.ndarray, transform: Rigid2D, order: int = 3) -> np.ndarray:
    """Make the sequence-space image: ``out(q) = image(T^{-1}(q))`` for a 2D (H, W) image."""
    m = transform.inverse().matrix(image.shape)
    return _affine(image, m, order)


def resample_to_common(image: np.ndarray, transform: Rigid2D, order: int = 1) -> np.ndarray:
    """Bring a sequence image back to common space: ``out(p) = image(T(p))`` (2D (H, W))."""
    return _affine(image, transform.matrix(image.shape), order)


# --------------------------------------------------------------------------- misalignment


@dataclass
class MisalignedCase:
    """Multi-sequence case with every sequence in its own space (like MS-CMRSeg).

    Attributes:
        images: Per sequence, ``float32`` (Z, H, W) in its own space, normalised; missing
            slices are 0.
        labels: Per sequence, its labels in its own space (nearest neighbour), ``uint8``.
        common_labels: Ground truth in the common space (the reference sequence's), ``uint8``.
        common_images: Per sequence, the sequence image resampled with the true transforms
            (what a perfect registration would give; the noise is resampled with it).
        transforms: Per sequence, per slice, the full transform (sequence rigid, then the
            slice's breath-hold shift).
        sequence_transforms: Per sequence, the rigid part shared by all its slices.
        slice_shifts: Per sequence, (Z, 2) breath-hold shifts (dy, dx) in pixels.
        coverage: Per sequence, ``bool`` (Z,): False where the sequence has no slice.
        spacing: (z, y, x) in mm.
        reference: Name of the sequence that defines the common space (identity transforms).
        info: The case's info plus the misalignment settings.
        native: Per sequence, the image on its own grid with its affine, when each sequence
            was acquired at its own resolution (:func:`~zmic_lessons.data.native.misalign_native`);
            ``None`` otherwise.
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    common_labels: np.ndarray
    common_images: dict[str, np.ndarray]
    transforms: dict[str, list[Rigid2D]]
    sequence_transforms: dict[str, Rigid2D]
    slice_shifts: dict[str, np.ndarray]
    coverage: dict[str, np.ndarray]
    spacing: tuple[float, float, float]
    reference: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    native: dict[str, NativeSequence] | None = None


def misalign(
    case: CardiacCase,
    seed: int | np.random.Generator,
    *,
    max_angle_deg: float = 6.0,
    max_shift_px: float = 5.0,
    slice_shift_px: float = 2.0,
    reference: str | None = "bssfp",
    missing: Mapping[str, float] | None = None,
) -> MisalignedCase:
    """Put each sequence of a case into its own space, with known transforms.

    Each non-reference sequence gets a rigid transform (angle uniform in +-``max_angle_deg``,
    shift uniform in +-``max_shift_px`` per axis) and every slice a breath-hold shift
    (Gaussian, std ``slice_shift_px``, clipped at 2.5 std). The clean common-space image
    (``case.clean``: noise-free, with partial volume) is warped with cubic splines into the
    sequence's space and only then acquired (bias, k-space, Rician noise) with the case's own
    acquisition settings, so noise is not warped. Labels follow by nearest neighbour. The
    reference sequence keeps the identity and its acquired image from ``case``.

    Args:
        case: A phantom case from :func:`~zmic_lessons.data.cardiac.simulate_case`.
        seed: Seed or generator for the transforms and the new acquisitions.
        max_angle_deg: Largest rotation per sequence (degrees).
        max_shift_px: Largest translation per sequence and axis (pixels).
        slice_shift_px: Std of the per-slice shifts (pixels).
        reference: Sequence that defines the common space, or ``None`` to move them all.
        missing: Fraction of slices each named sequence lacks, e.g. ``{"t2": 0.5}``; at
            least one slice is kept.

    Returns:
        A :class:`MisalignedCase`.
    """
    missing = _check_sequences(case, reference, missing)
    rng = make_rng(seed)
    motion = (max_angle_deg, max_shift_px, slice_shift_px)
    placed = {
        name: _place_sequence(case, name, rng, motion, (name == reference, missing.get(name, 0)))
        for name in case.images
    }
    info = dict(case.info)
    info["misalign"] = {
        "seed": seed if isinstance(seed, int) else None,
        "max_angle_deg": max_angle_deg,
        "max_shift_px": max_shift_px,
        "slice_shift_px": slice_shift_px,
        "reference": reference,
        "missing": missing,
    }
    return MisalignedCase(
        images={k: p.image.astype(np.float32) for k, p in placed.items()},
        labels={k: p.labels for k, p in placed.items()},
        common_labels=case.labels.copy(),
        common_images={k: p.common for k, p in placed.items()},
        transforms={k: p.transforms for k, p in placed.items()},
        sequence_transforms={k: p.sequence_transform for k, p in placed.items()},
        slice_shifts={k: p.shifts.astype(np.float32) for k, p in placed.items()},
        coverage={k: p.coverage for k, p in placed.items()},
        spacing=case.spacing,
        reference=reference,
        info=info,
    )


@dataclass
class _Placed:
    """One sequence in its own space (see :class:`MisalignedCase` for each field)."""

    image: np.ndarray
    labels: np.ndarray
    common: np.ndarray
    transforms: list[Rigid2D]
    sequence_transform: Rigid2D
    shifts: np.ndarray
    coverage: np.ndarray


def _place_sequence(
    case: CardiacCase,
    name: str,
    rng: np.random.Generator,
    motion: tuple[float, float, float],
    role: tuple[bool, float],
) -> _Placed:
    """Move (unless it is the reference), drop slices, acquire and resample one sequence.

    ``motion`` = (max angle in degrees, max shift and slice-shift std in pixels); ``role`` =
    (is the reference, fraction of slices missing).
    """
    is_reference, frac = role
    nz = case.labels.shape[0]
    if is_reference:
        seq_t, shifts = Rigid2D(), np.zeros((nz, 2))
    else:
        seq_t, shifts = _draw_motion(rng, nz, *motion)
    cover = _draw_coverage(rng, nz, frac)
    transforms = [seq_t.then_shift(float(s[0]), float(s[1])) for s in shifts]
    if is_reference:
        image, labels = case.images[name].copy(), case.labels.copy()
    else:
        image, labels = _acquire_in_sequence_space(case, name, transforms, rng)
    image[~cover] = 0.0
    labels[~cover] = 0
    common = _resample_stack(image, transforms, cover)
    return _Placed(image, labels, common, transforms, seq_t, shifts, cover)


def _check_sequences(
    case: CardiacCase, reference: str | None, missing: Mapping[str, float] | None
) -> dict[str, float]:
    """Validate ``reference`` and ``missing`` against the case's sequences."""
    seqs = list(case.images)
    if reference is not None and reference not in seqs:
        raise ValueError(f"reference {reference!r} is not one of the case's sequences {seqs}")
    missing = dict(missing or {})
    unknown = set(missing) - set(seqs)
    if unknown:
        raise ValueError(f"missing names unknown sequences {sorted(unknown)}; have {seqs}")
    for name, frac in missing.items():
        if not 0.0 <= float(frac) < 1.0:
            raise ValueError(f"missing[{name!r}] must be in [0, 1), got {float(frac)}")
    return missing


def _draw_motion(
    rng: np.random.Generator,
    nz: int,
    max_angle_deg: float,
    max_shift_px: float,
    slice_shift_px: float,
) -> tuple[Rigid2D, np.ndarray]:
    """A sequence's rigid transform and its slices' breath-hold shifts ``(nz, 2)`` (pixels)."""
    angle = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg))
    shift = rng.uniform(-max_shift_px, max_shift_px, size=2)
    limit = 2.5 * slice_shift_px
    shifts = np.clip(rng.normal(0.0, slice_shift_px, size=(nz, 2)), -limit, limit)
    return Rigid2D(float(angle), (float(shift[0]), float(shift[1]))), shifts


def _draw_coverage(rng: np.random.Generator, nz: int, frac: float) -> np.ndarray:
    """``bool`` (nz,): which slices the sequence has (a ``frac`` of them missing, one kept)."""
    n_drop = min(int(np.floor(float(frac) * nz + 0.5)), nz - 1)
    cover = np.ones(nz, bool)
    if n_drop > 0:
        cover[rng.choice(nz, size=n_drop, replace=False)] = False
    return cover


def _acquire_in_sequence_space(
    case: CardiacCase, name: str, transforms: list[Rigid2D], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Warp the clean image (cubic) and labels (nearest) per slice, then acquire the image."""
    clean = case.clean if case.clean is not None else case.images
    acq_info = case.info.get("acquisition", {})
    warped = np.zeros(case.labels.shape, np.float32)
    labels = np.zeros_like(case.labels)
    for z, transform in enumerate(transforms):
        warped[z] = warp_to_sequence(clean[name][z], transform, order=3)
        labels[z] = warp_to_sequence(case.labels[z], transform, order=0)
    warped = np.maximum(warped, 0.0)
    if case.clean is None or name not in acq_info:
        return warped, labels
    settings = SequenceAcquisition(**acq_info[name])
    acquired = acquire(warped, settings, rng, pixel_mm=case.spacing[1])
    return scale_to_percentile(acquired)[0], labels


def _resample_stack(image: np.ndarray, transforms: list[Rigid2D], cover: np.ndarray) -> np.ndarray:
    """The covered slices of a sequence image resampled to common space (linear)."""
    common = np.zeros_like(image)
    for z in np.flatnonzero(cover):
        common[z] = resample_to_common(image[z], transforms[z], order=1)
    return common

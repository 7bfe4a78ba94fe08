"""Each sequence acquired at its own resolution: in-plane k-space extent and slab thickness.

Real multi-sequence cardiac MR is not acquired on one grid. MS-CMRSeg 2019's protocol (data
notes, ``shared/methods/data.md`` section 2; Zhuang, TPAMI 2019): bSSFP about 1.25 mm in-plane
with 8-13 mm slices (8-12 slices), T2-STIR about 1.35 mm with 12-20 mm slices (3-7 slices), LGE
about 0.75 mm with 5 mm slices (10-18 slices). :data:`MSCMR_PROTOCOL` takes **bSSFP 1.25 mm x
10 mm, T2 1.35 mm x 16 mm, LGE 0.75 mm x 5 mm** (the middle of each range; slices contiguous,
no gap). The phantom's stacks cover less of the ventricle than a clinical stack (the MvMM
chapter's 5 x 8 mm = 40 mm), so a case gets 4 bSSFP, 3 T2 and 8 LGE slices: the ratios of the
real counts, not the counts.

How one sequence is acquired natively (:func:`acquire_native`), from the case's own anatomy
(regenerated from its seed, so the heart is the same):

1. **Slab (partial volume through the slice).** The anatomy is drawn again with the
   sequence's slice thickness: sub-planes every 2.5 mm or less across each slab, centred on
   the same point of the ventricle as the case's stack, and the signal is averaged over them.
2. **In-plane resolution (k-space extent).** The slab-averaged signal on the phantom's fine
   grid (the anatomy's supersampled grid, 0.75 mm for the 1.5 mm phantom) is Fourier
   transformed and only the central ``FOV / pixel_mm`` samples per axis are kept: the
   sequence's acquisition matrix. Its inverse transform is the image on the native grid
   (pixel ``FOV / n``; blur and Gibbs ringing of the truncation included).
3. **The scanner** (:func:`~zmic_lessons.data.scanner.acquire`) on that native matrix: the
   case's own coil bias, partial phase encoding, ghosting and Rician noise (SNR per native
   voxel as the preset draws it: clinical SNR ranges already include the voxel size).

Each native image carries its own affine (voxel -> world mm, nibabel ``(i, j, k)`` order):
x and y are millimetres from the corner of the field of view, z the depth below the LV base.
:func:`misalign_native` does what :func:`~zmic_lessons.data.acquisition.misalign` does, but
acquires every sequence natively, then resamples it **through the affines** into the case's
grid (the common space of the model; :func:`~zmic_lessons.data.datasets.resample_to`).

The option is off by default everywhere: :func:`simulate_case` and :func:`misalign` are
unchanged (their digests are pinned in ``tests/test_phantom_pinned.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
from scipy import fft as sfft

from ..core.ops import scale_to_percentile
from ..core.seed import make_rng
from ..io import affine_from_spacing
from .acquisition import (
    MisalignedCase,
    Rigid2D,
    _draw_coverage,
    resample_to_common,
    warp_to_sequence,
)
from .cardiac import CardiacCase, render_mr, simulate_anatomy
from .cardiac.case import Anatomy
from .datasets.geometry import resample_to
from .protocols import MSCMR_PROTOCOL, NativeSequence, SequenceProtocol
from .scanner import SequenceAcquisition, acquire

__all__ = [
    "MSCMR_PROTOCOL",
    "NativeSequence",
    "SequenceProtocol",
    "acquire_native",
    "common_affine",
    "kspace_resize",
    "misalign_native",
    "misalign_native_like",
    "native_slices",
    "native_anatomy",
    "native_in_place",
]


def _field_of_view(case: CardiacCase) -> float:
    return float(case.spacing[1] * case.labels.shape[-1])


def common_affine(case: CardiacCase) -> np.ndarray:
    """The case's own grid as an affine: pixel (j, i) centre at ((i + 0.5) px, (j + 0.5) px)
    mm, slice 0 at its depth below the LV base (``info["depth_mm"][0]``)."""
    dz, dy, dx = case.spacing
    return affine_from_spacing(case.spacing, origin=(dx / 2, dy / 2, case.info["depth_mm"][0]))


def native_anatomy(case: CardiacCase, protocol: SequenceProtocol) -> Anatomy:
    """The case's anatomy drawn again with the protocol's slab (same seed, same heart).

    The slices are centred on the case's stack and cover it (``ceil(extent / slice_mm)``
    slices; one for a single-slice case). Sub-planes: ``ceil(slice_mm / 2.5)`` per slab.
    """
    if case.info.get("seed") is None or "args" not in case.info:
        raise ValueError("native acquisition needs a case made by simulate_case(seed)")
    args = dict(case.info["args"])
    args.update(
        n_slices=native_slices(case, protocol), slice_mm=protocol.slice_mm, z_supersample=None
    )
    return simulate_anatomy(case.info["seed"], **args)


def kspace_resize(volume: np.ndarray, n_out: int) -> np.ndarray:
    """Keep the central ``n_out`` x ``n_out`` k-space samples of each (N, N) plane.

    The result samples the band-limited image at ``N / n_out`` times the input pixel,
    starting at the input's pixel 0; the mean is preserved.

    Args:
        volume: ``(Z, N, N)`` real images.
        n_out: Acquisition matrix (``<= N``).

    Returns:
        ``float32`` (Z, n_out, n_out).
    """
    n = volume.shape[-1]
    if n_out > n or n_out < 2:
        raise ValueError(f"acquisition matrix {n_out} must be in [2, {n}]")
    axes = (-2, -1)
    k = sfft.fftshift(sfft.fft2(volume, axes=axes), axes=axes)
    lo = n // 2 - n_out // 2
    k = k[..., lo : lo + n_out, lo : lo + n_out]
    out = sfft.ifft2(sfft.ifftshift(k, axes=axes), axes=axes).real
    return (out * (n_out / n) ** 2).astype(np.float32)


def _native_grid(
    case: CardiacCase, anatomy: Anatomy, protocol: SequenceProtocol
) -> tuple[int, np.ndarray]:
    """The native matrix size and its affine (pixel 0 at the fine grid's pixel 0).

    A resolution finer than the phantom's fine grid (e.g. LGE's 0.75 mm on the 64-pixel quick
    phantom, whose fine grid is 1.5 mm) is capped at the fine grid.
    """
    fov, fine_mm = _field_of_view(case), case.spacing[1] / anatomy.supersample[1]
    n = min(int(round(fov / protocol.pixel_mm)), anatomy.tissue.shape[-1])
    spacing = (protocol.slice_mm, fov / n, fov / n)
    origin = (fine_mm / 2, fine_mm / 2, anatomy.info["depth_mm"][0])
    return n, affine_from_spacing(spacing, origin=origin)


def _scaled(transform: Rigid2D, factor: float) -> Rigid2D:
    """The same rigid motion in pixels ``factor`` times smaller."""
    return Rigid2D(transform.angle, (transform.shift[0] * factor, transform.shift[1] * factor))


def acquire_native(
    case: CardiacCase,
    name: str,
    protocol: SequenceProtocol,
    rng: np.random.Generator,
    transforms: list[Rigid2D] | None = None,
) -> NativeSequence:
    """Acquire sequence ``name`` of ``case`` at the protocol's resolution (module docstring).

    Args:
        case: A phantom case from :func:`~zmic_lessons.data.cardiac.simulate_case`.
        name: ``"bssfp"``, ``"t2"`` or ``"lge"``.
        protocol: In-plane resolution and slice thickness.
        rng: Generator for the acquisition (bias, ghosts, noise).
        transforms: Per native slice, the motion from the common space (pixels of the case's
            grid, :class:`Rigid2D` convention); ``None``: in place.

    Returns:
        A :class:`NativeSequence`.
    """
    anatomy = native_anatomy(case, protocol)
    sz, s = anatomy.supersample
    fine = dataclasses.replace(anatomy, supersample=(sz, 1))
    preset = case.info["preset"]["name"]
    clean = render_mr(fine, case.info["seed"], preset, sequences=(name,), acquire_images=False)
    signal, labels = clean.clean[name], anatomy.labels.copy()
    for z, t in enumerate(transforms or []):
        signal[z] = warp_to_sequence(signal[z], _scaled(t, s), order=3)
        labels[z] = warp_to_sequence(anatomy.labels[z], t, order=0)
    n, affine = _native_grid(case, anatomy, protocol)
    matrix = kspace_resize(np.maximum(signal, 0.0), n)
    settings = SequenceAcquisition(**case.info["acquisition"][name])
    settings = dataclasses.replace(settings, resolution_fraction=1.0)
    image = acquire(matrix, settings, rng, pixel_mm=float(affine[0, 0]))
    half = case.spacing[1] / 2
    lab_affine = affine_from_spacing(anatomy.spacing, origin=(half, half, affine[2, 3]))
    native_labels = resample_to(labels, lab_affine, (len(labels), n, n), affine, order=0)
    spacing = (protocol.slice_mm, float(affine[1, 1]), float(affine[0, 0]))
    return NativeSequence(scale_to_percentile(image)[0], native_labels, affine, spacing, protocol)


def _draw_native_motion(
    rng: np.random.Generator, n: int, motion: tuple[float, float, float], moved: bool
) -> tuple[Rigid2D, np.ndarray]:
    """A sequence's rigid transform and a breath-hold shift ``(n, 2)`` per native slice."""
    if not moved:
        return Rigid2D(), np.zeros((n, 2))
    max_angle, max_shift, slice_shift = motion
    angle = float(np.deg2rad(rng.uniform(-max_angle, max_angle)))
    dy, dx = rng.uniform(-max_shift, max_shift, size=2)
    limit = 2.5 * slice_shift
    shifts = np.clip(rng.normal(0.0, slice_shift, size=(n, 2)), -limit, limit)
    return Rigid2D(angle, (float(dy), float(dx))), shifts


def _nearest_native(case: CardiacCase, native: NativeSequence) -> tuple[np.ndarray, np.ndarray]:
    """For each slice of the case: the nearest native slice and whether a slab covers it."""
    z_common = common_affine(case)[2, 3] + case.spacing[0] * np.arange(case.labels.shape[0])
    pos = (z_common - native.affine[2, 3]) / native.protocol.slice_mm
    nearest = np.clip(np.round(pos).astype(int), 0, native.image.shape[0] - 1)
    return nearest, (pos >= -0.5 - 1e-6) & (pos <= native.image.shape[0] - 0.5 + 1e-6)


def _to_common(case: CardiacCase, native: NativeSequence, kept: np.ndarray):
    """The native image and labels on the case's grid (through the affines), and coverage."""
    shape, target = case.labels.shape, common_affine(case)
    image = resample_to(
        native.image * kept[:, None, None], native.affine, shape, target, slicewise=True
    )
    labels = resample_to(native.labels * kept[:, None, None], native.affine, shape, target, order=0)
    nearest, inside = _nearest_native(case, native)
    cover = inside & kept[nearest]
    image[~cover], labels[~cover] = 0.0, 0
    return image.astype(np.float32), labels.astype(np.uint8), cover, nearest


def misalign_native(
    case: CardiacCase,
    seed: int | np.random.Generator,
    *,
    protocol: Mapping[str, SequenceProtocol] = MSCMR_PROTOCOL,
    max_angle_deg: float = 6.0,
    max_shift_px: float = 5.0,
    slice_shift_px: float = 2.0,
    reference: str | None = "bssfp",
    missing: Mapping[str, float] | None = None,
) -> MisalignedCase:
    """:func:`~zmic_lessons.data.acquisition.misalign` with every sequence acquired natively.

    Each sequence gets a rigid transform (the reference none) and each of its native slices a
    breath-hold shift, is acquired on its own grid (:func:`acquire_native`), then resampled
    through its affine onto the case's grid. ``images``/``labels`` are those resampled
    sequences (still misaligned); ``transforms`` give, per slice of the case, the transform of
    the nearest native slice; ``native`` holds the native images, labels and affines.
    Arguments as in ``misalign`` (pixels of the case's grid); ``missing`` drops native slices.
    """
    rng = make_rng(seed)
    motion = (max_angle_deg, max_shift_px, slice_shift_px)
    out = MisalignedCase({}, {}, case.labels.copy(), {}, {}, {}, {}, {}, case.spacing, reference)
    out.native = {}
    for name in case.images:
        n = native_slices(case, protocol[name])
        sequence, shifts = _draw_native_motion(rng, n, motion, name != reference)
        moves = [sequence.then_shift(float(a), float(b)) for a, b in shifts]
        kept = _draw_coverage(rng, n, (missing or {}).get(name, 0.0))
        native = acquire_native(case, name, protocol[name], rng, moves)
        image, labels, cover, nearest = _to_common(case, native, kept)
        out.native[name], out.sequence_transforms[name] = native, sequence
        out.slice_shifts[name] = shifts[nearest].astype(np.float32)
        _store(out, name, (image, labels, cover), [moves[i] for i in nearest])
    out.info = dict(case.info)
    out.info["misalign"] = {
        "seed": seed if isinstance(seed, int) else None, "max_angle_deg": max_angle_deg,
        "max_shift_px": max_shift_px, "slice_shift_px": slice_shift_px,
        "reference": reference, "missing": dict(missing or {}),
        "native": {k: dataclasses.asdict(v) for k, v in protocol.items()},
    }  # fmt: skip
    return out


def misalign_native_like(
    case: CardiacCase,
    like: MisalignedCase,
    protocol: Mapping[str, SequenceProtocol] = MSCMR_PROTOCOL,
) -> MisalignedCase:
    """:func:`misalign_native` with the seed and motion settings ``like`` was made with."""
    kwargs = dict(like.info["misalign"])
    seed = kwargs.pop("seed")
    if seed is None:
        raise ValueError("misalign_native_like needs a case misaligned with an integer seed")
    return misalign_native(case, seed, protocol=protocol, **kwargs)


def native_in_place(
    case: CardiacCase,
    name: str,
    seed: int,
    protocol: Mapping[str, SequenceProtocol] = MSCMR_PROTOCOL,
) -> np.ndarray:
    """Sequence ``name`` acquired natively without motion, on the case's grid ``(Z, H, W)``.

    What an atlas case contributes to a template matched against natively acquired images:
    the same blur, slab averaging and noise, resampled through the affines; slices no slab
    covers are zero.
    """
    native = acquire_native(case, name, protocol[name], make_rng(seed))
    kept = np.ones(native.image.shape[0], dtype=bool)
    return _to_common(case, native, kept)[0]


def native_slices(case: CardiacCase, protocol: SequenceProtocol) -> int:
    """How many native slices :func:`native_anatomy` draws for ``protocol``."""
    n = case.labels.shape[0]
    return 1 if n == 1 else max(1, math.ceil(case.spacing[0] * n / protocol.slice_mm - 1e-6))


def _store(out: MisalignedCase, name: str, parts: tuple, transforms: list[Rigid2D]) -> None:
    """One sequence's images, labels, coverage and per-slice transforms on the case's grid."""
    image, labels, cover = parts
    common = np.zeros_like(image)
    for z in np.flatnonzero(cover):
        common[z] = resample_to_common(image[z], transforms[z], order=1)
    out.images[name], out.labels[name], out.common_images[name] = image, labels, common
    out.coverage[name], out.transforms[name] = cover, transforms

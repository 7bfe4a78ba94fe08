"""What the cardiac phantom returns: the tissue-level :class:`Anatomy` and the MR case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Anatomy:
    """The tissue-level description of one case, shared by every rendering (MR, CT).

    Hi-res arrays have shape ``(Z * sz, H * s, W * s)`` with ``(sz, s) = supersample``.

    Attributes:
        tissue: ``uint8`` tissue codes (:class:`~zmic_lessons.data.physics.Tissue`).
        texture: ``float32`` multiplicative texture around 1 (applied to proton density).
        severity: ``float32`` pathology strength in [0, 1] (0 outside scar/oedema/MVO).
        flow: ``float32`` blood motion in [0, 1] (1 = fast flow, 0 = static).
        labels: ``uint8`` (Z, H, W) segmentation on the output grid (partial-volume majority).
        supersample: (through-plane, in-plane) supersampling factors.
        spacing: Output spacing (z, y, x) in mm.
        info: Geometry and pathology parameters, per-slice depth, the generator's arguments.
    """

    tissue: np.ndarray
    texture: np.ndarray
    severity: np.ndarray
    flow: np.ndarray
    labels: np.ndarray
    supersample: tuple[int, int]
    spacing: tuple[float, float, float]
    info: dict[str, Any] = field(default_factory=dict)

    def pool(self, hi: np.ndarray) -> np.ndarray:
        """Average a hi-res ``(Z*sz, H*s, W*s)`` map down to the output grid ``(Z, H, W)``."""
        return pool_mean(hi, self.supersample)


def pool_mean(hi: np.ndarray, factors: tuple[int, int]) -> np.ndarray:
    """Block mean by summing strided views (much faster than a reshape-mean)."""
    sz, s = factors
    acc = np.zeros((hi.shape[0], hi.shape[1] // s, hi.shape[2] // s), np.float32)
    for j in range(s):
        for k in range(s):
            acc += hi[:, j::s, k::s]
    if sz > 1:
        acc = acc.reshape(-1, sz, acc.shape[1], acc.shape[2]).sum(axis=1)
    acc *= 1.0 / (sz * s * s)
    return acc


@dataclass
class CardiacCase:
    """One multi-sequence phantom case.

    Attributes:
        images: ``"bssfp" | "t2" | "lge"`` -> ``float32`` (Z, H, W), divided by the 99.5th
            percentile (about [0, 1], not clipped).
        labels: ``uint8`` (Z, H, W), codes of :data:`~zmic_lessons.data.labels.CARDIAC_LABELS`.
        spacing: (z, y, x) in mm.
        info: Parameters actually used: tissue table, TI, TR, TE, flip, SNR and noise sigma,
            k-space fractions, pathology, per-slice depth, preset, seed.
        clean: Per sequence, the noise-free partial-volume image before acquisition (signal
            units, not normalised); :func:`~zmic_lessons.data.acquisition.misalign` warps
            these and acquires them again in each sequence's own space.
    """

    images: dict[str, np.ndarray]
    labels: np.ndarray
    spacing: tuple[float, float, float]
    info: dict[str, Any] = field(default_factory=dict)
    clean: dict[str, np.ndarray] | None = None

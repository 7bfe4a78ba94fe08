"""How a sequence samples the heart (:class:`SequenceProtocol`), MS-CMRSeg's protocol, and one
sequence on its own grid (:class:`NativeSequence`).

The acquisition itself is :mod:`.native`; these types live apart so that
:mod:`.acquisition` can name a :class:`NativeSequence` without importing the acquisition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MSCMR_PROTOCOL", "NativeSequence", "SequenceProtocol"]


@dataclass(frozen=True)
class SequenceProtocol:
    """Where a sequence samples the heart.

    Attributes:
        pixel_mm: Acquired in-plane resolution, also the native pixel size (mm).
        slice_mm: Slice thickness and spacing (mm; contiguous slices, no gap).
    """

    pixel_mm: float
    slice_mm: float


#: MS-CMRSeg 2019's protocol, the middle of each range (:mod:`.native` gives the ranges).
MSCMR_PROTOCOL: dict[str, SequenceProtocol] = {
    "bssfp": SequenceProtocol(1.25, 10.0),
    "t2": SequenceProtocol(1.35, 16.0),
    "lge": SequenceProtocol(0.75, 5.0),
}


@dataclass
class NativeSequence:
    """One sequence on its own grid.

    Attributes:
        image: ``float32`` (n, m, m), divided by its 99.5th percentile.
        labels: ``uint8`` (n, m, m), the slab's majority label, nearest neighbour in-plane.
        affine: ``(4, 4)`` voxel -> world (mm), nibabel ``(i, j, k)`` = ``(x, y, z)`` order.
        spacing: (z, y, x) in mm.
        protocol: The protocol it was acquired with.
    """

    image: np.ndarray
    labels: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    protocol: SequenceProtocol

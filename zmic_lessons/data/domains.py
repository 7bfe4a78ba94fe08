"""Appearance domains: per-centre acquisition presets and a CT rendering of the same anatomy.

A *domain* here is everything that changes the look of an image but not the anatomy: field
strength (through T1/T2), gadolinium dose and inversion-time choice (LGE contrast), SNR, coil
bias, acquired resolution (k-space extent), ghosting. :class:`AcquisitionPreset` collects these;
:data:`CENTRE_PRESETS` names a few fictional hospitals for generalisation experiments.

Because the phantom's anatomy is generated separately from its appearance
(:func:`zmic_lessons.data.cardiac.simulate_anatomy`), the same anatomy can be rendered as MR at
any preset (:func:`zmic_lessons.data.cardiac.render_mr`) or as contrast-enhanced CT in
Hounsfield units (:func:`render_ct`): the labels are shared, only the appearance moves.

The presets live in :mod:`zmic_lessons.data.presets`, the CT rendering in
:mod:`zmic_lessons.data.ct`; this module gathers both.
"""

from __future__ import annotations

from .ct import ct_window, render_ct
from .presets import CENTRE_PRESETS, AcquisitionPreset, get_preset

__all__ = ["CENTRE_PRESETS", "AcquisitionPreset", "ct_window", "get_preset", "render_ct"]

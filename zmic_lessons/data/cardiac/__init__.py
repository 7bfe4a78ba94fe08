"""Physics-based short-axis cardiac MR phantom: bSSFP, T2-STIR and LGE of the same heart.

How a case is made (:func:`simulate_case` = :func:`simulate_anatomy` + :func:`render_mr`):

1. **Anatomy** (:func:`simulate_anatomy`), a tissue map on a supersampled grid (default 2x
   in-plane; for stacks also several sub-planes per thick slice):

   * analytic shapes in millimetres, evaluated on coordinates that first pass through a smooth
     random displacement field (elastic shape variation at two scales), so no outline is a
     perfect ellipse;
   * LV as a truncated prolate ellipsoid (radius shrinks to the apex, the cavity closes before
     the myocardium), wall thickness varying with angle, trabeculae (thresholded fine noise in
     a band at the endocardium) and two papillary muscles: myocardial tissue, LV label;
   * RV as an ellipse wrapped round the septum (crescent) with a thin free wall (background
     label, as in the challenges) and trabeculae; it ends before the LV apex;
   * epicardial fat in the grooves, pericardium, mediastinal fat, lungs with vessels, chest
     wall (skin fat, muscle, ribs, sternum), spine with canal and paraspinal muscles,
     descending aorta, oesophagus, liver dome and stomach in apical slices, left atrium and
     outflow tract above the base;
   * pathology on the myocardium: ischaemic scar growing from the endocardium (subendocardial
     to transmural, in a coronary territory, optionally with a dark MVO core) or non-ischaemic
     scar (mid-wall, epicardial, patchy), oedema (area at risk) wider than scar, and a
     per-pixel ``severity`` (grey zone at the edges).

2. **Appearance** (:func:`render_mr`): per tissue PD, T1, T2 and post-contrast T1 (jittered per
   case, at the preset's field strength and gadolinium dose) go through the signal equations of
   :mod:`zmic_lessons.data.physics`; pixels with a pathology severity get their own
   interpolated relaxation times and their own equation evaluation; blood in the black-blood T2
   is suppressed by a flow map that is weaker near the endocardium (slow-flow rim); tissue
   texture multiplies PD. The supersampled signal is averaged down to the output grid: that
   is the partial volume (in-plane and along z for thick slices).

3. **Acquisition** (:func:`zmic_lessons.data.acquisition.acquire`), per sequence: coil bias,
   k-space truncation (blur and Gibbs), ghosting, Rician noise, then normalisation by the
   99.5th percentile.

Orientation: anterior is up (small row index), the patient's left is image right, so the RV is
on the image left of the LV, the spine at the bottom.

Where each step lives: :mod:`.geometry` (the random shape parameters), :mod:`.fields` (smooth
random fields), :mod:`.frames` (coordinates, windows, the canvas), :mod:`.thorax` and
:mod:`.heart` (drawing one plane), :mod:`.pathology` (scar, oedema, MVO), :mod:`.anatomy`
(:func:`simulate_anatomy`), :mod:`.mr` (:func:`render_mr`, :func:`simulate_case`).

Speed: a 2D 128x128 case with all three sequences takes about 10-20 ms on one core (see
``benchmarks/bench_cardiac.py``).
"""

from .anatomy import regenerate_anatomy, render_plane, simulate_anatomy
from .case import Anatomy, CardiacCase
from .mr import render_mr, simulate_case, simulate_cases

__all__ = [
    "Anatomy",
    "CardiacCase",
    "regenerate_anatomy",
    "render_mr",
    "render_plane",
    "simulate_anatomy",
    "simulate_case",
    "simulate_cases",
]

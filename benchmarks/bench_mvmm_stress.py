"""MvMM on hearts it was not tuned on: how often placement and registration fail.

Each stress case is a phantom drawn beyond the chapter's defaults, then handled as a user
would handle it (the chapter's atlas cases, placement and fit; no ground truth):

* **heart size**: the phantom is drawn at a pixel size 0.8-1.45 times the chapter's, so the
  heart spans 0.69-1.25 times as many pixels per side (small hearts included);
* **slice level**: slice thickness 6-11 mm (the 5-slice stack covers another extent);
* **position and orientation**: the whole common-space case is rotated in-plane by up to
  +-30 degrees about the image centre and shifted by up to +-12 pixels per axis;
* **misalignment**: T2 and LGE each moved by a known rotation of 2-5 degrees and a shift of
  2-4 pixels, plus breath-hold shifts per slice (std 1 pixel).

It reports per case and overall:

* **placement failure**: the placed atlas (its argmax) is off the heart: the centre of its
  heart (LV blood + myocardium) is more than ``--centre-px`` pixels from the true one, or its
  heart Dice with the truth is below 0.5;
* **registration failure**: the final residual misalignment (RMS over the ROI, pixels) exceeds
  the initial one;
* myocardium Dice, residual rotation, the placement's confidence and whether it warned.

    python benchmarks/bench_mvmm_stress.py [--cases 36] [--baseline]

``--baseline`` runs the placement and registration as they were before the stress work (NCC
over scales only, rotation about the grid's centre, the atlas at full strength during
registration). Writes
``benchmarks/results/mvmm_stress.json`` (``mvmm_stress_baseline.json`` with ``--baseline``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
import torch
from bench_mvmm_json import write_result
from scipy import ndimage

from zmic_lessons.core.budget import select
from zmic_lessons.data.acquisition import MisalignedCase, misalign
from zmic_lessons.data.cardiac import simulate_case
from zmic_lessons.data.cardiac.case import CardiacCase
from zmic_lessons.data.labels import SEQUENCES
from zmic_lessons.mvmm import chapter, experiment
from zmic_lessons.mvmm.atlas import LV_K, MYO_K, tissue_classes
from zmic_lessons.mvmm.evaluation import myo_dice, residual_misalignment
from zmic_lessons.mvmm.transforms import StackRigid

REFERENCE_PIXEL_MM = 1.5


@dataclasses.dataclass(frozen=True)
class Pose:
    """How one stress case departs from the chapter's phantom."""

    phantom_seed: int
    pixel_factor: float
    slice_mm: float
    angle_deg: float
    shift_px: tuple[float, float]


def draw_pose(rng: np.random.Generator, index: int) -> Pose:
    """One stress case's anatomy and pose."""
    return Pose(
        phantom_seed=30_000 + index,
        pixel_factor=float(rng.uniform(0.8, 1.45)),
        slice_mm=float(rng.uniform(6.0, 11.0)),
        angle_deg=float(rng.uniform(-30.0, 30.0)),
        shift_px=(float(rng.uniform(-12, 12)), float(rng.uniform(-12, 12))),
    )


def _move(stack: np.ndarray, angle_deg: float, shift: tuple[float, float], order: int):
    """Rotate ``(Z, H, W)`` about the centre and shift (pixels), slice by slice."""
    h, w = stack.shape[-2:]
    a = math.radians(angle_deg)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    # output p samples input R^T (p - c - s) + c
    inv = r.T
    offset = c - inv @ (c + np.asarray(shift))
    out = [
        ndimage.affine_transform(s, inv, offset, order=order, mode="constant", cval=0.0)
        for s in stack
    ]
    return np.stack(out).astype(stack.dtype)


def posed_case(pose: Pose, settings) -> CardiacCase:
    """The phantom of ``pose``, drawn, rotated and shifted in the common space."""
    case = simulate_case(
        pose.phantom_seed, size=settings.size, n_slices=settings.n_slices,
        pixel_mm=REFERENCE_PIXEL_MM * pose.pixel_factor, slice_mm=pose.slice_mm,
    )  # fmt: skip
    images = {k: _move(v, pose.angle_deg, pose.shift_px, 1) for k, v in case.images.items()}
    clean = {k: _move(v, pose.angle_deg, pose.shift_px, 3) for k, v in case.clean.items()}
    labels = _move(case.labels, pose.angle_deg, pose.shift_px, 0)
    return dataclasses.replace(case, images=images, clean=clean, labels=labels)


def misaligned(case: CardiacCase, seed: int) -> MisalignedCase:
    """T2 and LGE moved by 2-5 degrees and 2-4 pixels (first draw that qualifies)."""
    for attempt in range(200):
        mis = misalign(case, seed * 1000 + attempt, max_angle_deg=5.0, max_shift_px=4.0,
                       slice_shift_px=1.0)  # fmt: skip
        ok = all(
            2.0 <= abs(mis.sequence_transforms[s].angle_deg) <= 5.0
            and 2.0 <= float(np.hypot(*mis.sequence_transforms[s].shift)) <= 4.0
            for s in SEQUENCES[1:]
        )
        if ok:
            return mis
    raise RuntimeError("no misalignment in range after 200 draws")


def heart_centre(classes: np.ndarray) -> np.ndarray | None:
    """Centroid ``(y, x)`` of LV blood + myocardium over the stack."""
    heart = (classes == LV_K) | (classes == MYO_K)
    if not heart.any():
        return None
    _, ys, xs = np.nonzero(heart)
    return np.array([ys.mean(), xs.mean()])


def placement_scores(exp: experiment.Experiment) -> tuple[float, float]:
    """Heart Dice of the placed atlas's argmax and its heart-centre error (pixels)."""
    placed = exp.atlas_init.warp(exp.atlas).argmax(0).cpu().numpy()
    truth = tissue_classes(exp.case.common_labels)
    a = (placed == LV_K) | (placed == MYO_K)
    b = (truth == LV_K) | (truth == MYO_K)
    dice = 2.0 * float((a & b).sum()) / max(float(a.sum() + b.sum()), 1.0)
    ca, cb = heart_centre(placed), heart_centre(truth)
    error = math.inf if ca is None or cb is None else float(np.hypot(*(ca - cb)))
    return dice, error


def run_case(index: int, settings, cases: experiment.AtlasCases, baseline: bool) -> dict:
    """Draw, place, fit and score one stress case."""
    pose = draw_pose(np.random.default_rng([2026, index]), index)
    mis = misaligned(posed_case(pose, settings), 7_000 + index)
    images = torch.tensor(np.stack([mis.images[s] for s in SEQUENCES]))
    cover = torch.tensor(np.stack([mis.coverage[s] for s in SEQUENCES]))
    info: dict = {}
    inputs = experiment.prepare_fit(settings, images, cover, cases, 1.0, info)
    exp = experiment.Experiment(**vars(inputs), case=mis)
    overrides = {"rotate_about_roi": False, "registration_prior_power": 1.0} if baseline else {}
    fit = experiment.fit_experiment(exp, **overrides)
    identity = StackRigid.identity(len(SEQUENCES), images.shape[1], 0)
    init_px, init_deg = residual_misalignment(identity, mis, exp.mask)
    res_px, res_deg = residual_misalignment(fit.transform, mis, exp.mask)
    dice, centre = placement_scores(exp)
    heart = int(np.isin(mis.common_labels, (1, 2, 4, 5)).sum())
    return {
        "index": index, **dataclasses.asdict(pose), "heart_px": heart,
        "placement_heart_dice": dice, "placement_centre_error_px": centre,
        "placement_confidence": float(info.get("ncc", math.nan)),
        "placement_unsure": bool(info.get("unsure", False)),
        "initial_px": init_px, "initial_deg": init_deg, "residual_px": res_px,
        "residual_deg": res_deg, "dice_myo": myo_dice(mis.common_labels, fit.segmentation),
        "guard_restored": fit.guard.get("restored", 0.0),
    }  # fmt: skip


def summarise(rows: list[dict], centre_px: float) -> dict:
    """Failure rates and means."""
    place_fail = [
        r["placement_centre_error_px"] > centre_px or r["placement_heart_dice"] < 0.5 for r in rows
    ]
    reg_fail = [r["residual_px"] > r["initial_px"] for r in rows]
    return {
        "cases": len(rows),
        "placement_failures": int(sum(place_fail)),
        "placement_failure_rate": float(np.mean(place_fail)),
        "registration_failures": int(sum(reg_fail)),
        "registration_failure_rate": float(np.mean(reg_fail)),
        "mean_initial_px": float(np.mean([r["initial_px"] for r in rows])),
        "mean_residual_px": float(np.mean([r["residual_px"] for r in rows])),
        "mean_initial_deg": float(np.mean([r["initial_deg"] for r in rows])),
        "mean_residual_deg": float(np.mean([r["residual_deg"] for r in rows])),
        "mean_dice_myo": float(np.mean([r["dice_myo"] for r in rows])),
        "mean_dice_myo_placed": float(
            np.mean([r["dice_myo"] for r, f in zip(rows, place_fail, strict=True) if not f])
        ) if not all(place_fail) else None,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=36)
    parser.add_argument(
        "--centre-px",
        type=float,
        default=6.0,
        help="placement fails beyond this heart-centre error (pixels)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="placement and registration as before the stress work",
    )
    args = parser.parse_args()  # fmt: skip
    settings = select("standard", chapter.BUDGETS)
    if args.baseline:
        settings = dataclasses.replace(settings, atlas_angles=(0.0,))
    cases = experiment._phantom_atlas_cases(settings, 0)
    rows = []
    for index in range(args.cases):
        start = time.perf_counter()
        row = run_case(index, settings, cases, args.baseline)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        print(f"{index:3d} size x{1 / row['pixel_factor']:.2f} rot {row['angle_deg']:+5.1f} "
              f"heart {row['heart_px']:5d} place dice {row['placement_heart_dice']:.2f} "
              f"centre {row['placement_centre_error_px']:5.1f} px conf "
              f"{row['placement_confidence']:.2f} | init {row['initial_px']:.2f} px "
              f"{row['initial_deg']:.2f} deg -> {row['residual_px']:.2f} px "
              f"{row['residual_deg']:.2f} deg | myo {row['dice_myo']:.3f} "
              f"{row['seconds']:.0f}s", flush=True)  # fmt: skip
    summary = summarise(rows, args.centre_px)
    print(summary)
    write_result(
        "stress_baseline" if args.baseline else "stress",
        {"budget": "standard", "centre_px": args.centre_px, "summary": summary, "rows": rows},
    )


if __name__ == "__main__":
    main()

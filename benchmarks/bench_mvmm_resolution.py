"""MvMM with every sequence on one grid against each sequence at its own resolution (issue #15).

For each seed, the MvMM chapter runs twice at ``standard`` (without RegNet): with the phantom's
sequences all on one grid (``native_resolution=False``, the chapter's default) and with each
sequence acquired at MS-CMRSeg's resolution (:data:`zmic_lessons.data.native.MSCMR_PROTOCOL`:
bSSFP 1.25 mm x 10 mm, T2 1.35 mm x 16 mm, LGE 0.75 mm x 5 mm) and resampled into the common
space through its affine. The columns are those of ``bench_mvmm_seeds.py`` (imported, the same
metrics of :func:`zmic_lessons.mvmm.chapter.run`): the joint model in the common space and in
each sequence's space, each sequence segmented alone, the best of them.

    python benchmarks/bench_mvmm_resolution.py [--seeds 0 1 2] [--settings native]

``--settings`` runs one setting and keeps the other's committed result (its seeds must match).

Writes ``benchmarks/results/mvmm_resolution.json``: per setting the rows, means, standard
deviations and the margins the issue asks for (MvMM - best single sequence in the common
space; MvMM - LGE alone in LGE space; MvMM - T2 alone in T2 space), and whether each reaches
+0.03.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from bench_mvmm_json import RESULTS, write_result
from bench_mvmm_seeds import COLUMNS

from zmic_lessons.mvmm import chapter

MARGINS = {
    "common_vs_best_single": ("dice_myo_mvmm", "dice_myo_single_best"),
    "lge_space_vs_lge_alone": ("dice_myo_mvmm_lge", "dice_myo_single_lge"),
    "t2_space_vs_t2_alone": ("dice_myo_mvmm_t2", "dice_myo_single_t2"),
}
TARGET = 0.03
SETTINGS = ("one_grid", "native")


def _run(seed: int, native: bool) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    results = chapter.run(
        "standard", torch.device("cpu"), seed, None, None, run_regnet=False,
        native_resolution=native,
    )  # fmt: skip
    return {key: float(results.metrics[key]) for _, key in COLUMNS}, time.perf_counter() - start


def _summary(rows: list[dict[str, float]]) -> dict[str, object]:
    keys = list(rows[0])
    table = np.array([[r[k] for k in keys] for r in rows])
    margins = {
        name: [r[a] - r[b] for r in rows] for name, (a, b) in MARGINS.items()
    }  # fmt: skip
    return {
        "rows": rows,
        "mean": dict(zip(keys, table.mean(0).tolist(), strict=True)),
        "std": dict(zip(keys, table.std(0).tolist(), strict=True)),
        "margins_per_seed": margins,
        "margins_mean": {k: float(np.mean(v)) for k, v in margins.items()},
        "margins_reach_target": {k: bool(np.mean(v) >= TARGET) for k, v in margins.items()},
    }


def _kept(seeds: list[int], rerun: list[str]) -> dict[str, dict]:
    """The committed result of the settings not rerun (same seeds), else nothing."""
    path = RESULTS / "mvmm_resolution.json"
    if set(rerun) == set(SETTINGS) or not path.exists():
        return {}
    old = json.loads(path.read_text())
    if old["seeds"] != seeds:
        raise SystemExit(f"{path} has seeds {old['seeds']}, not {seeds}: rerun every setting")
    return {k: old[k] for k in SETTINGS if k not in rerun}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    args = parser.parse_args()
    header = " ".join(f"{name:>9}" for name, _ in COLUMNS)
    out = _kept(args.seeds, args.settings)
    for label in args.settings:
        native = label == "native"
        print(f"--- {label}\n{'seed':>4} {header} {'s':>5}", flush=True)
        rows, seconds = [], []
        for seed in args.seeds:
            row, sec = _run(seed, native)
            rows.append(row)
            seconds.append(sec)
            print(f"{seed:>4} " + " ".join(f"{v:9.3f}" for v in row.values()) + f" {sec:5.0f}")
        out[label] = {**_summary(rows), "seconds_per_seed": seconds}
        mean = out[label]["mean"]
        print(f"{'mean':>4} " + " ".join(f"{mean[k]:9.3f}" for _, k in COLUMNS))
        print("margins (mean):", {k: round(v, 3) for k, v in out[label]["margins_mean"].items()})
    write_result(
        "resolution",
        {
            "budget": "standard",
            "seeds": args.seeds,
            "target_margin": TARGET,
            **{k: out[k] for k in SETTINGS if k in out},
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()

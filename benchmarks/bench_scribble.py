"""CycleMix against partial CE and full supervision, with the cumulative ablation, over seeds.

Targets (standard budget, means over seeds): CycleMix >= pCE + 3 Dice points; CycleMix >= 90 %
of full supervision; every component's contribution measured (the change of the mean Dice
when it is added to the row above). Prints mean and spread and writes
``benchmarks/results/scribble.json`` (the chapter notebook shows it).

    OMP_NUM_THREADS=1 python benchmarks/bench_scribble.py --seeds 0 1 2 --budget standard

Each seed runs in its own process (``--jobs``), single-threaded. The rows can be run in parts:
``--set ablation=false`` trains pCE, CycleMix and full supervision only; ``--rows mix mix_occ
mix_occ_glob --merge EARLIER.json`` then adds the ablation rows to those seeds (the settings
must be the same).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROWS = ("pce", "mix", "mix_occ", "mix_occ_glob", "cyclemix", "full")
COMPONENTS = {
    "mix": ("pce", "mix"),
    "occlusion": ("mix", "mix_occ"),
    "global": ("mix_occ", "mix_occ_glob"),
    "local": ("mix_occ_glob", "cyclemix"),
}
PARTS = ("", "_lv", "_myo", "_rv", "_lv_as_rv", "_lv_as_background")
OUT = Path(__file__).parent / "results" / "scribble.json"


def some_rows(seed: int, budget: str, overrides: dict, rows: list[str]) -> dict:
    """Train and score only ``rows`` at one seed (to add rows to an earlier run: ``--merge``)."""
    import dataclasses
    import time

    import torch

    from zmic_lessons.core.budget import select
    from zmic_lessons.scribble.evaluation import evaluate
    from zmic_lessons.scribble.experiment import make_experiment, train_method
    from zmic_lessons.scribble.settings import BUDGETS

    settings = select(budget, BUDGETS, **overrides)
    exp, metrics, timing = make_experiment(settings, seed), {}, {}
    for row in rows:
        t0 = time.perf_counter()
        trained = train_method(row, exp, settings, seed, torch.device("cpu"), progress=False)
        timing[row] = time.perf_counter() - t0
        for key, value in evaluate(trained.model, exp.test, torch.device("cpu")).items():
            metrics[f"dice_{row}" + ("" if key == "mean" else f"_{key}")] = value
    plain = json.loads(json.dumps(dataclasses.asdict(settings)))  # tuples -> lists, as stored
    return {"metrics": metrics, "timing_s": timing, "settings": plain}


def one_seed(seed: int, budget: str, overrides: dict, rows: list[str] | None = None) -> dict:
    """Run the chapter with the ablation at one seed, single-threaded; return its metrics."""
    import torch

    torch.set_num_threads(1)
    if rows:
        return some_rows(seed, budget, overrides, rows)
    from zmic_lessons.chapters import run_chapter

    overrides = {"ablation": True, **overrides}
    r = run_chapter("scribble", budget=budget, device="cpu", seed=seed, **overrides)
    return {"metrics": r.metrics, "timing_s": r.timing_s, "settings": r.to_dict()["settings"]}


def summarise(per_seed: dict[int, dict]) -> dict:
    """Mean and standard deviation over seeds of every row, gap and component contribution."""
    metrics = [v["metrics"] for v in per_seed.values()]

    def stat(values):
        a = np.asarray(values, dtype=float)
        return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
                "values": [float(x) for x in a]}  # fmt: skip

    present = [r for r in ROWS if all(f"dice_{r}" in m for m in metrics)]
    rows = {}
    for row in present:
        rows[row] = {p.lstrip("_") or "mean": stat([m[f"dice_{row}{p}"] for m in metrics])
                     for p in PARTS}  # fmt: skip
    comps = {c: stat([m[f"dice_{b}"] - m[f"dice_{a}"] for m in metrics])
             for c, (a, b) in COMPONENTS.items() if a in present and b in present}  # fmt: skip
    gain = stat([m["dice_cyclemix"] - m["dice_pce"] for m in metrics])
    ratio = stat([m["dice_cyclemix"] / m["dice_full"] for m in metrics])
    mean = {r: rows[r]["mean"]["mean"] for r in rows}
    targets = {
        "cyclemix_minus_pce_ge_0.03": mean["cyclemix"] - mean["pce"] >= 0.03,
        "cyclemix_over_full_ge_0.90": mean["cyclemix"] / mean["full"] >= 0.90,
    }
    return {"rows": rows, "components": comps, "cyclemix_gain": gain,
            "cyclemix_over_full": ratio, "targets": targets}  # fmt: skip


def merge(earlier: dict[str, dict], new: dict[int, dict]) -> dict[int, dict]:
    """Per-seed results of an earlier run with the new rows' metrics and timings added."""
    out = {}
    for seed, result in new.items():
        old = earlier[str(seed)]
        if old["settings"] != {**result["settings"], "ablation": old["settings"]["ablation"]}:
            raise ValueError(f"seed {seed}: the earlier run has other settings")
        out[seed] = {"metrics": {**old["metrics"], **result["metrics"]},
                     "timing_s": {**old["timing_s"], **result["timing_s"]},
                     "settings": old["settings"]}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--budget", default="standard")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], help="Settings overrides KEY=VALUE")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--rows", nargs="*", choices=ROWS, help="Train only these rows")
    ap.add_argument("--merge", type=Path, help="Add the rows to this earlier run's seeds")
    args = ap.parse_args(argv)
    from zmic_lessons.core.settings import parse_overrides
    from zmic_lessons.scribble.settings import Settings

    overrides = parse_overrides(Settings, args.set)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {s: pool.submit(one_seed, s, args.budget, overrides, args.rows)
                   for s in args.seeds}  # fmt: skip
        per_seed = {s: f.result() for s, f in futures.items()}
    if args.merge:
        per_seed = merge(json.loads(args.merge.read_text())["per_seed"], per_seed)
    summary = summarise(per_seed)
    print(f"scribble benchmark, budget={args.budget}, seeds={args.seeds}")
    print(f"{'row':<14}{'mean Dice':>18}{'LV':>16}{'Myo':>16}{'RV':>16}")
    for row, r in summary["rows"].items():
        cells = [f"{r[k]['mean']:.3f} ± {r[k]['std']:.3f}" for k in ("mean", "lv", "myo", "rv")]
        print(f"{row:<14}" + "".join(f"{c:>16}" for c in cells))
    for c, s in summary["components"].items():
        print(f"component {c:<10} Δ mean Dice {s['mean']:+.3f} ± {s['std']:.3f}")
    g, q = summary["cyclemix_gain"], summary["cyclemix_over_full"]
    print(f"CycleMix - pCE {g['mean']:+.3f} ± {g['std']:.3f}; CycleMix / full "
          f"{q['mean']:.3f} ± {q['std']:.3f}; targets {summary['targets']}")  # fmt: skip
    record = {"budget": args.budget, "seeds": args.seeds, "overrides": args.set,
              "summary": summary, "per_seed": {str(k): v for k, v in per_seed.items()}}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a chapter on several devices and budgets; print metrics side by side and wall times.

Used for CUDA parity (the same budget on ``cpu`` and ``cuda`` should give close metrics) and for
timing the ``full`` budget on a GPU. Numbers are printed, never asserted.

    python benchmarks/bench_chapter_devices.py mvmm --budgets quick --devices cpu auto
    python benchmarks/bench_chapter_devices.py mvmm --budgets full --devices auto
"""

from __future__ import annotations

import argparse
import time

from zmic_lessons.chapters import run_chapter
from zmic_lessons.core.device import describe_device, get_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter")
    parser.add_argument("--budgets", nargs="+", default=["quick"])
    parser.add_argument("--devices", nargs="+", default=["cpu", "auto"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = {}
    for budget in args.budgets:
        for device in args.devices:
            name = f"{budget}@{describe_device(get_device(device))}"
            start = time.perf_counter()
            results = run_chapter(args.chapter, budget=budget, device=device, seed=args.seed)
            wall = time.perf_counter() - start
            runs[name] = results
            stages = ", ".join(f"{k} {v:.1f}" for k, v in results.timing_s.items())
            print(f"{name}: {wall:.1f} s ({stages})", flush=True)
    metrics = sorted({m for r in runs.values() for m in r.metrics})
    names = list(runs)
    print("\n" + "metric".ljust(28) + "".join(n[:24].rjust(26) for n in names))
    for metric in metrics:
        row = "".join(f"{runs[n].metrics.get(metric, float('nan')):26.4f}" for n in names)
        print(metric.ljust(28) + row)


if __name__ == "__main__":
    main()

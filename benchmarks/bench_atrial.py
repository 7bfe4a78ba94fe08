"""Time the 3D left-atrium phantom: ``python benchmarks/bench_atrial.py [--repeat N]``.

Target: a 96^3 volume (1.25 mm isotropic) in under 1 s on one CPU core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zmic_lessons.data.atrial import ATRIAL_CENTRES, simulate_atrium


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    simulate_atrium(0, shape=32, spacing_mm=1.25)  # warm up imports and caches
    times = []
    for seed in range(args.repeat):
        start = time.perf_counter()
        simulate_atrium(seed, shape=96, spacing_mm=1.25)
        times.append(time.perf_counter() - start)
    print(
        f"96^3 @ 1.25 mm: median {np.median(times):.3f} s, min {min(times):.3f} s "
        f"over {args.repeat} runs (target < 1 s)"
    )
    for name in ATRIAL_CENTRES:
        start = time.perf_counter()
        case = simulate_atrium(0, centre=name)
        print(f"centre {name:8s} shape {case.image.shape}: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()

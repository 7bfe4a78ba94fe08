"""Speed of the cardiac phantom (single thread): 2D cases/s, a 3D stack, misalignment.

Run: ``python benchmarks/bench_cardiac.py [--n 200]``. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

from zmic_lessons.data.acquisition import misalign  # noqa: E402
from zmic_lessons.data.cardiac import simulate_anatomy, simulate_case  # noqa: E402
from zmic_lessons.data.domains import render_ct  # noqa: E402
from zmic_lessons.data.labels import merge_pathology  # noqa: E402
from zmic_lessons.data.scribbles import scribbles_from_labels  # noqa: E402


def _time(fn, n: int) -> float:
    fn(0)  # warm caches
    t0 = time.perf_counter()
    for i in range(n):
        fn(i + 1)
    return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="2D cases to time")
    args = parser.parse_args()
    torch.set_num_threads(1)

    dt = _time(lambda s: simulate_case(s), args.n)
    print(f"2D case 128x128, 3 sequences: {dt * 1e3:6.1f} ms  -> {1 / dt:6.1f} cases/s/core")
    dt = _time(lambda s: simulate_anatomy(s), args.n // 2)
    print(f"  of which anatomy only:       {dt * 1e3:6.1f} ms")
    dt = _time(lambda s: simulate_case(s, size=256, pixel_mm=0.75), max(5, args.n // 10))
    print(f"2D case 256x256:               {dt * 1e3:6.1f} ms")
    dt = _time(lambda s: simulate_case(s, n_slices=10, slice_mm=8.0), 5)
    print(f"3D stack 10x128x128 (3 sub-planes/slice): {dt:6.2f} s")
    stack = simulate_case(0, n_slices=10)
    dt = _time(lambda s: misalign(stack, s, missing={"t2": 0.5}), 10)
    print(f"misalign 10-slice stack:       {dt * 1e3:6.1f} ms")
    case = simulate_case(0)
    dt = _time(lambda s: misalign(case, s), 50)
    print(f"misalign 2D case:              {dt * 1e3:6.1f} ms")
    anat = simulate_anatomy(0)
    dt = _time(lambda s: render_ct(anat, s), 50)
    print(f"render_ct 2D:                  {dt * 1e3:6.1f} ms")
    lab = merge_pathology(case.labels)
    dt = _time(lambda s: scribbles_from_labels(lab, s), 20)
    print(f"scribbles 2D slice:            {dt * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()

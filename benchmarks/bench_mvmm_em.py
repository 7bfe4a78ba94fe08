"""One EM iteration: zmic_lessons.mvmm against scikit-learn's GaussianMixture.

Same data (N pixels, one sequence), same number of Gaussian components (4 classes with
1-2 components each = 6; sklearn gets ``n_components=6``), float64, one thread on both sides
(torch, and sklearn's BLAS/OpenMP pools through threadpoolctl). sklearn's per-iteration time
is (fit with 11 iterations - fit with 1) / 10, so its initialisation is not counted.

The three timings of a repeat are taken back to back, so that a shared machine's load hits
both sides alike; a row reports the median over repeats (milliseconds per iteration) and the
median of the per-repeat ratios ours / sklearn.

    python benchmarks/bench_mvmm_em.py [--sizes 16384,65536,262144] [--repeats 7]

Writes ``benchmarks/results/mvmm_em.json`` (the rows; the MvMM page cites the ratios).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from bench_mvmm_json import write_result
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from zmic_lessons.mvmm.em_fused import em
from zmic_lessons.mvmm.model import active_from_counts, init_params


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_size(pixels: int, repeats: int) -> tuple[float, float, float]:
    """Median milliseconds per iteration (ours, sklearn) and the median ratio ours / sklearn."""
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 4, size=pixels)
    means = np.array([0.1, 0.8, 0.3, 0.6])
    x = means[classes] + 0.05 * rng.standard_normal(pixels)
    J = torch.tensor(x[None], dtype=torch.float64)
    atlas = torch.full((4, pixels), 0.25, dtype=torch.float64)
    active = active_from_counts([[2, 1, 2, 1]])
    params = init_params(J, atlas, active)
    n_comp = int(active.sum())
    x2 = x[:, None]

    def ours() -> None:
        em(J, params, atlas, n_iter=1)

    def sklearn_fit(n_iter: int) -> Callable[[], None]:
        def run() -> None:
            gm = GaussianMixture(
                n_components=n_comp, max_iter=n_iter, tol=0.0, init_params="random", random_state=0
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gm.fit(x2)

        return run

    fit1, fit11 = sklearn_fit(1), sklearn_fit(11)
    t_ours, t_sk = [], []
    for fn in (ours, fit1, fit11):  # warm-up
        fn()
    for _ in range(repeats):
        t_ours.append(_seconds(ours))
        # sklearn's cost per iteration, without its initialisation: (11 iterations - 1) / 10
        t_sk.append((_seconds(fit11) - _seconds(fit1)) / 10)
    ratios = [o / s for o, s in zip(t_ours, t_sk, strict=True)]
    return statistics.median(t_ours) * 1e3, statistics.median(t_sk) * 1e3, statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="16384,65536,262144", help="comma-separated pixels")
    parser.add_argument("--pixels", type=int, help="one size (overrides --sizes)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    sizes = [args.pixels] if args.pixels else [int(s) for s in args.sizes.split(",")]
    torch.set_num_threads(1)
    print(f"components=6 float64 threads=1 repeats={args.repeats} (medians)")
    print(f"{'pixels':>8} {'ours ms':>9} {'sklearn ms':>11} {'ours/sklearn':>13}")
    rows = []
    with threadpool_limits(limits=1):
        for pixels in sizes:
            t_ours, t_sk, ratio = bench_size(pixels, args.repeats)
            print(f"{pixels:>8} {t_ours:>9.2f} {t_sk:>11.2f} {ratio:>13.2f}")
            rows.append({"pixels": pixels, "ours_ms": t_ours, "sklearn_ms": t_sk, "ratio": ratio})
    write_result("em", {"components": 6, "dtype": "float64", "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()

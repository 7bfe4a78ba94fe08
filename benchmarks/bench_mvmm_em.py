"""One EM iteration: zmic_lessons.mvmm against scikit-learn's GaussianMixture.

Same data (N pixels, one sequence), same number of Gaussian components (4 classes with
1-2 components each = 6; sklearn gets ``n_components=6``), float64, one thread. sklearn's
per-iteration time is (fit with 11 iterations - fit with 1) / 10, so its initialisation is
not counted. Reports milliseconds per iteration and the ratio ours / sklearn.

    python benchmarks/bench_mvmm_em.py [--pixels 65536] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from zmic_lessons.mvmm.model import active_from_counts, em, init_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pixels", type=int, default=65536)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 4, size=args.pixels)
    means = np.array([0.1, 0.8, 0.3, 0.6])
    x = means[classes] + 0.05 * rng.standard_normal(args.pixels)
    J = torch.tensor(x[None], dtype=torch.float64)
    atlas = torch.full((4, args.pixels), 0.25, dtype=torch.float64)
    active = active_from_counts([[2, 1, 2, 1]])
    params = init_params(J, atlas, active)
    n_comp = int(active.sum())

    def ours() -> None:
        em(J, params, atlas, n_iter=1)

    x2 = x[:, None]

    def sklearn_fit(n_iter: int):
        gm = GaussianMixture(
            n_components=n_comp, max_iter=n_iter, tol=0.0, init_params="random", random_state=0
        )

        def run() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gm.fit(x2)

        return run

    def best(fn) -> float:
        fn()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    t_ours = best(ours)
    # sklearn's cost per iteration, without its initialisation: (11 iterations - 1) / 10
    t_sk = (best(sklearn_fit(11)) - best(sklearn_fit(1))) / 10
    print(f"pixels={args.pixels} components={n_comp} threads=1")
    print(f"zmic_lessons.mvmm EM iteration: {t_ours * 1e3:.2f} ms")
    print(f"sklearn GaussianMixture, per iteration: {t_sk * 1e3:.2f} ms")
    print(f"ratio ours/sklearn: {t_ours / t_sk:.2f}")


if __name__ == "__main__":
    main()

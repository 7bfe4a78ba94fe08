"""The cardiac phantom is pinned byte for byte: a refactor of its code must change no case.

The digests below were computed from the phantom code before it was decomposed into named
anatomy and rendering steps (issue #10). Any change to them is a change of the phantom (and of
every number the book reports on it): make it on purpose, say so, and update the digests with
``python tests/test_phantom_pinned.py``.

The digests are SHA-256 of the arrays' bytes (and of the ``info`` dict as sorted JSON). They hold
for a fixed NumPy/SciPy build on a given CPU family: vectorised ``exp``/``sin`` may differ in the
last bit on another instruction set, which this test would report as a change. BLAS runs on one
thread while the digests are taken: a multi-threaded BLAS sums in another order (with two
threads the arrays differ in the last bit).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from zmic_lessons.data.acquisition import misalign
from zmic_lessons.data.cardiac import render_mr, simulate_anatomy, simulate_case, simulate_cases
from zmic_lessons.data.domains import render_ct


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=repr).encode())
    return h.hexdigest()[:24]


def _case_parts(case) -> Iterator[object]:
    yield case.labels
    yield list(case.spacing)
    for name in sorted(case.images):
        yield case.images[name]
        yield case.clean[name]
    yield case.info


def _anatomy_parts(anatomy) -> Iterator[object]:
    yield from (anatomy.tissue, anatomy.texture, anatomy.severity, anatomy.flow, anatomy.labels)
    yield [list(anatomy.supersample), list(anatomy.spacing), anatomy.info]


def _misaligned_parts(m) -> Iterator[object]:
    for name in sorted(m.images):
        yield from (m.images[name], m.labels[name], m.common_images[name])
        yield from (m.slice_shifts[name], m.coverage[name])
        yield [[t.angle, list(t.shift)] for t in m.transforms[name]]
    yield m.common_labels
    yield m.info


def _single_slice() -> str:
    return _digest(*_case_parts(simulate_case(3, pathology=True)))


def _stack_preset() -> str:
    return _digest(*_case_parts(simulate_case(11, size=64, n_slices=4, preset="centre_b")))


def _healthy_3t() -> str:
    return _digest(*_case_parts(simulate_case(5, size=96, pathology=False, preset="centre_c")))


def _many() -> str:
    return _digest(*[p for c in simulate_cases(3, seed=2, size=64) for p in _case_parts(c)])


def _anatomy_stack() -> str:
    return _digest(*_anatomy_parts(simulate_anatomy(17, size=48, n_slices=6, pathology=True)))


def _render_clean_generator() -> str:
    anatomy = simulate_anatomy(23, size=64, n_slices=2)
    case = render_mr(anatomy, np.random.default_rng(4), "centre_d", acquire_images=False)
    return _digest(*_case_parts(case))


def _ct() -> str:
    anatomy = simulate_anatomy(29, size=64, n_slices=3, pathology=True)
    return _digest(render_ct(anatomy, 6), render_ct(simulate_case(8, size=48), 1))


def _misaligned() -> str:
    case = simulate_case(21, size=64, n_slices=4, pathology=True)
    return _digest(*_misaligned_parts(misalign(case, 9, missing={"t2": 0.5, "lge": 0.25})))


CHECKS: dict[str, Callable[[], str]] = {
    "single_slice": _single_slice,
    "stack_preset": _stack_preset,
    "healthy_3t": _healthy_3t,
    "many": _many,
    "anatomy_stack": _anatomy_stack,
    "render_clean_generator": _render_clean_generator,
    "ct": _ct,
    "misaligned": _misaligned,
}

PINNED = {
    "single_slice": "9c05a1b9f685162e83a99834",
    "stack_preset": "3e85664f0e86823c232f2237",
    "healthy_3t": "5c460ac00f10792a4133c152",
    "many": "c93d640da4655a9604e00c04",
    "anatomy_stack": "b70f9dc7329e55c8aed1d307",
    "render_clean_generator": "a61962c26a8a8299679d5290",
    "ct": "9af0d561c62d790277edc443",
    "misaligned": "d95a9b70388c036d77bfd9cc",
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_phantom_is_unchanged(name):
    with threadpool_limits(1):
        digest = CHECKS[name]()
    assert digest == PINNED[name], (
        f"the phantom changed ({name}); if on purpose, say so and update the digests"
    )


if __name__ == "__main__":  # print the digests to paste above
    with threadpool_limits(1):
        json.dump({k: f() for k, f in CHECKS.items()}, sys.stdout, indent=4)

"""Progress bars that suit notebooks, terminals and CI logs alike (built on ``tqdm.auto``).

* In Jupyter, ``tqdm.auto`` draws a widget bar; in a terminal, a text bar.
* In CI (``CI`` set to ``true``/``1``) or with ``ZMIC_PROGRESS=0`` bars are disabled, so logs
  stay short; ``ZMIC_PROGRESS=1`` forces them on.
* When stderr is not a terminal (a log file, ``nbval``), the bar refreshes at most every
  ``NON_TTY_MININTERVAL_S`` seconds instead of many times a second.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["NON_TTY_MININTERVAL_S", "progress", "progress_enabled"]

NON_TTY_MININTERVAL_S = 30.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

T = TypeVar("T")


def progress_enabled() -> bool:
    """Whether bars should be shown, from ``ZMIC_PROGRESS`` first, then ``CI``."""
    forced = os.environ.get("ZMIC_PROGRESS", "").strip().lower()
    if forced in _FALSE:
        return False
    if forced in _TRUE:
        return True
    return os.environ.get("CI", "").strip().lower() not in _TRUE


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def progress(
    iterable_or_total: Iterable[T] | int | None = None,
    desc: str = "",
    *,
    total: int | None = None,
    enabled: bool | None = None,
    leave: bool = True,
    **kwargs: Any,
) -> tqdm:
    """A tqdm bar over an iterable, or a manual bar of ``total`` steps (``bar.update(n)``).

    Args:
        iterable_or_total: What to iterate over, or an int: the number of steps of a manual bar.
        desc: Label shown before the bar.
        total: Length, when ``iterable`` has none.
        enabled: Force on/off; ``None`` follows :func:`progress_enabled`.
        leave: Keep the finished bar on screen.
        **kwargs: Passed to ``tqdm`` (e.g. ``unit="step"``).

    Returns:
        A ``tqdm`` object: iterate over it, or call ``update``/``set_postfix`` on it. Use it as a
        context manager (or call ``close()``) for manual bars.
    """
    if isinstance(iterable_or_total, int) and not isinstance(iterable_or_total, bool):
        iterable, total = None, iterable_or_total
    else:
        iterable = iterable_or_total
    disable = not (progress_enabled() if enabled is None else enabled)
    if not disable and not _in_notebook() and not _stderr_is_tty():
        kwargs.setdefault("mininterval", NON_TTY_MININTERVAL_S)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=leave, **kwargs)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False

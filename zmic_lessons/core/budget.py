"""Budgets: ``quick`` (seconds, smoke), ``standard`` (the book), ``full`` (paper scale, GPU)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

BUDGETS: tuple[str, ...] = ("quick", "standard", "full")
ENV_VAR = "ZMIC_BUDGET"

T = TypeVar("T")


def check_budget(budget: str) -> str:
    """Return ``budget`` if it is one of :data:`BUDGETS`, else raise a ``ValueError``."""
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose one of {', '.join(BUDGETS)}")
    return budget


def budget_from_env(default: str = "standard") -> str:
    """The budget named by the ``ZMIC_BUDGET`` environment variable, else ``default``."""
    return check_budget(os.environ.get(ENV_VAR, default).strip() or default)


def select(budget: str, table: Mapping[str, T], **overrides: Any) -> T:
    """Pick a chapter's settings for ``budget`` and apply overrides.

    Args:
        budget: One of :data:`BUDGETS`.
        table: Settings per budget, each a dataclass instance.
        **overrides: Fields to replace (e.g. ``steps=2`` to run a ``full``-size model for two
            steps on a CPU in a test). Unknown field names raise ``TypeError``.

    Returns:
        A copy of ``table[budget]`` with the overrides applied.
    """
    config = table[check_budget(budget)]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if not overrides:
        return config
    fields = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(
            f"unknown setting(s) {unknown} for {type(config).__name__}; known: {sorted(fields)}"
        )
    return dataclasses.replace(config, **overrides)  # type: ignore[type-var]

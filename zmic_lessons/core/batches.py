"""Where :func:`~zmic_lessons.core.training.fit` gets its batches and how it moves them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch

__all__ = ["batch_source", "move_to"]


def move_to(obj: Any, device: torch.device) -> Any:
    """Move every tensor in a nested structure (dict, list, tuple, namedtuple, dataclass)."""
    if torch.is_tensor(obj):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, Mapping):
        moved = {k: move_to(v, device) for k, v in obj.items()}
        try:
            return type(obj)(moved)  # type: ignore[call-arg]
        except TypeError:  # e.g. defaultdict: keep the values, drop the exotic type
            return moved
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(move_to(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(v, device) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: move_to(getattr(obj, f.name), device) for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **changes)
    return obj


def batch_source(batches: Any) -> Callable[[int], Any]:
    """``step -> batch`` from a callable, or by cycling a re-iterable / consuming an iterator."""
    if callable(batches) and not isinstance(batches, (Iterable, Iterator)):
        return batches
    if not isinstance(batches, Iterable):
        raise TypeError(
            "batches must be an iterable (list, DataLoader, generator) or a callable step -> batch,"
            f" got {type(batches).__name__}"
        )
    state: dict[str, Iterator[Any]] = {"it": iter(batches)}
    one_shot = state["it"] is batches

    def next_batch(step: int) -> Any:
        try:
            return next(state["it"])
        except StopIteration:
            if one_shot:
                raise RuntimeError(
                    f"the batch iterator ran out at step {step}; pass a re-iterable (list, "
                    "DataLoader) or a callable step -> batch to train longer"
                ) from None
            state["it"] = iter(batches)
            try:
                return next(state["it"])
            except StopIteration:
                raise RuntimeError("batches is empty: it yielded no batch at all") from None

    return next_batch

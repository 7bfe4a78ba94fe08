"""What a training run logged: :class:`History`, one ``(steps, values)`` series per name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["History"]


@dataclass
class History:
    """What :func:`fit` logged: one ``(steps, values)`` series per name.

    ``"loss"`` and ``"lr"`` are recorded at every step (1-based step numbers), the scalars a
    ``loss_fn`` returns in its dict likewise, and the results of ``eval_fn`` at the steps it ran.
    """

    records: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    steps_done: int = 0
    time_s: float = 0.0

    def log(self, step: int, values: Mapping[str, float]) -> None:
        """Append ``values`` (name -> number) at ``step``."""
        for name, value in values.items():
            steps, vals = self.records.setdefault(name, ([], []))
            steps.append(int(step))
            vals.append(float(value))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` arrays of one series."""
        if name not in self.records:
            raise KeyError(f"no series {name!r} in history; have {sorted(self.records)}")
        steps, values = self.records[name]
        return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)

    def last(self, name: str) -> float:
        """The most recent value of a series."""
        _, values = self.series(name)
        if len(values) == 0:
            raise KeyError(f"series {name!r} is empty")
        return float(values[-1])

    @property
    def names(self) -> list[str]:
        """Names of all series."""
        return list(self.records)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON- and checkpoint-friendly)."""
        return {
            "series": {
                k: {"steps": list(s), "values": list(v)} for k, (s, v) in self.records.items()
            },
            "steps_done": self.steps_done,
            "time_s": self.time_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        series = {
            k: ([int(s) for s in v["steps"]], [float(x) for x in v["values"]])
            for k, v in data.get("series", {}).items()
        }
        return cls(series, int(data.get("steps_done", 0)), float(data.get("time_s", 0.0)))

"""Chapter settings: one typed, frozen dataclass per chapter, one table of them per budget.

Every chapter defines ``Settings`` (a frozen dataclass, every default in one place) and
``BUDGETS = {"quick": Settings(...), "standard": Settings(), "full": Settings(...)}``. The
notebook and the CLI reach every field the same way:

- Python: ``run_chapter("scribble", budget="quick", steps=50)`` (see :func:`.budget.select`);
- CLI: ``zmic-lessons run scribble --budget quick --set steps=50`` (see :func:`parse_overrides`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any

__all__ = ["parse_overrides", "settings_dict"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(text: str, kind: Any, key: str) -> Any:
    """Convert ``text`` to the annotated type ``kind`` of field ``key``."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if text.lower() == "none":
            return None
        return _convert(text, args[0], key)
    if origin is tuple:
        inner = typing.get_args(kind)[0] if typing.get_args(kind) else str
        items = [t for t in text.replace(" ", "").split(",") if t]
        return tuple(_convert(t, inner, key) for t in items)
    if kind is bool:
        low = text.lower()
        if low not in _TRUE | _FALSE:
            raise ValueError(f"--set {key}={text}: expected true or false")
        return low in _TRUE
    if kind in (int, float, str):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"--set {key}={text}: expected {kind.__name__}") from None
    return text


def parse_overrides(settings_type: type, pairs: Sequence[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings into typed overrides of a settings dataclass.

    Args:
        settings_type: The chapter's ``Settings`` dataclass.
        pairs: Strings such as ``"steps=50"``, ``"smoothing=2,1,0"``, ``"run_regnet=false"``.

    Returns:
        Field name -> value converted to the field's annotated type.

    Raises:
        ValueError: A pair without ``=``, an unknown field (the known ones are listed) or a
            value that does not convert.
    """
    hints = typing.get_type_hints(settings_type)
    known = [f.name for f in dataclasses.fields(settings_type)]
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}")
        if key not in known:
            raise ValueError(
                f"--set {key}: unknown setting of {settings_type.__name__}; "
                f"known: {', '.join(known)}"
            )
        out[key] = _convert(value.strip(), hints[key], key)
    return out


def settings_dict(settings: Any) -> dict[str, Any]:
    """A settings dataclass as JSON-ready data (tuples become lists); ``{}`` for ``None``."""
    if settings is None:
        return {}
    if not dataclasses.is_dataclass(settings):
        raise TypeError(f"settings must be a dataclass instance, got {type(settings).__name__}")
    return _plain(dataclasses.asdict(settings))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

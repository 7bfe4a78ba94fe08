"""Show the package code that implements an equation, beside the equation, in a notebook."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

__all__ = ["source_markdown", "show_source"]


def source_markdown(obj: Any, *, docstring: bool = False) -> str:
    """The source of a function or class as a fenced Markdown block, headed by its module path.

    Args:
        obj: A function, method or class of the package.
        docstring: Keep the docstring (default: dropped, the prose around the cell explains).

    Returns:
        Markdown text: the module path in bold, then the source in a fenced ``python`` block.
    """
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError) as err:
        raise TypeError(f"no source available for {obj!r}: {err}") from None
    if not docstring:
        source = _drop_docstring(source, inspect.getdoc(obj))
    name = f"{obj.__module__}.{obj.__qualname__}"
    return f"**`{name}`**\n\n```python\n{textwrap.dedent(source).strip()}\n```\n"


def _drop_docstring(source: str, doc: str | None) -> str:
    if not doc:
        return source
    for quote in ('"""', "'''"):
        start = source.find(quote)
        if start < 0:
            continue
        end = source.find(quote, start + 3)
        if end < 0:
            continue
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", end + 3)
        return source[:line_start] + source[line_end + 1 if line_end >= 0 else len(source) :]
    return source


def show_source(obj: Any, *, docstring: bool = False) -> Any:
    """Display :func:`source_markdown` in a notebook (static HTML included).

    Returns:
        The ``IPython.display.Markdown`` object (also displayed).
    """
    from IPython.display import Markdown, display

    md = Markdown(source_markdown(obj, docstring=docstring))
    display(md)
    return md

"""Copies of plain data (dicts, lists and scalars, as JSON holds them)."""

from __future__ import annotations

from typing import Any


def copied(value: Any) -> Any:
    """A copy of ``value`` down to its scalars: what the copy's user changes in place stays its own.

    Specs are shared between a process's executions (``app.engine.specs``): what an expression or an
    execution gets of one, it gets as a copy. Faster than ``copy.deepcopy`` for plain data.
    """
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [copied(item) for item in value]
    return value

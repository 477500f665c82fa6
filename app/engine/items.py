"""``with-items``: the list of iteration values of a task. Pure."""

from __future__ import annotations

from typing import Any

from app.engine import expressions
from app.engine.errors import InputError
from app.engine.expressions import ExecutionView
from app.engine.language.spec import WithItems
from app.engine.states import State

MAX_ITEMS = 100_000


def expand(with_items: WithItems, data: dict[str, Any], view: ExecutionView) -> list[dict[str, Any]]:
    """One dict of iteration variables per item: ``[{"x": 1, "y": "a"}, ...]``.

    As in Mistral, any iterable value iterates (a string by characters, a mapping by keys), and the
    messages show Python's rendering of the values.
    """
    evaluated = {name: expressions.evaluate_recursively(source, data, view) for name, source in with_items.variables}
    columns: dict[str, list[Any]] = {}
    for name, values in evaluated.items():
        if values is None or isinstance(values, (int, float, bool)):
            raise InputError(f"Wrong input format for: {columns}. Iterable type is expected for each value.")
        columns[name] = list(values)
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise InputError(f"Wrong input format for: {evaluated}. All arrays must have the same length.")
    count = lengths.pop() if lengths else 0
    if count > MAX_ITEMS:
        raise InputError(f"with-items has {count} items; at most {MAX_ITEMS} are allowed.")
    return [{name: values[index] for name, values in columns.items()} for index in range(count)]


def outcome(states: set[str]) -> str:
    """The state of a with-items task whose items all ended in ``states``."""
    if State.CANCELLED in states:
        return State.CANCELLED.value
    return State.ERROR.value if State.ERROR in states else State.SUCCESS.value

"""The ``params`` a request may give when it starts an execution.

Mistral keeps any key a caller sends (they show in the execution's ``params``), and so do we. The
engine's own bookkeeping of a sub-workflow (its parent task, its root, its depth) is never read from
what a caller sent: a root execution's ``depth`` is always 0, whatever its params say.
"""

from __future__ import annotations

from typing import Any

from app.engine.errors import InputError

# Set by the engine on the executions it starts for sub-workflow tasks; naming another execution
# here would link this one into a tree it does not belong to.
ENGINE_ONLY = ("task_execution_id", "root_execution_id")
# The params Mistral defines, and the JSON types they take (env and notify are checked where used).
TYPES: dict[str, tuple[type, ...]] = {
    "task_name": (str,),
    "evaluate_env": (bool,),
}


def check(params: dict[str, Any]) -> None:
    """Refuse, with the key named, what a caller may not set or sets with the wrong type."""
    for key in ENGINE_ONLY:
        if key in params:
            raise InputError(f"params.{key} is set by the engine for sub-workflow executions; a request "
                             f"cannot give it")
    for key, types in TYPES.items():
        value = params.get(key)
        # bool is an int in Python, and a JSON true is no string: check the exact type.
        if value is not None and type(value) not in types:
            expected = " or ".join(_json_name(t) for t in types)
            raise InputError(f"params.{key} must be a {expected}, not {_json_name(type(value))}: {value!r}")


def _json_name(kind: type) -> str:
    return {str: "string", bool: "boolean", int: "integer", float: "number", list: "list",
            dict: "object"}.get(kind, kind.__name__)

"""Mistral's custom expression functions, shared by the YAQL and Jinja evaluators.

Pure module: the functions that read an execution go through an injected :class:`ExecutionView`, so
the engine decides what is loaded and nothing here touches a database.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import yaml

from app.engine.errors import ExpressionError

# Bounds every collection an expression may build or return; far above the with-items floor (10,000)
# while keeping an infinite iterator from running forever.
MAX_COLLECTION_SIZE = 1_000_000


class ExecutionView(Protocol):
    """Read-only access to the execution an expression is evaluated in."""

    def task(self, name: str | None) -> dict[str, Any] | None: ...

    def tasks(
        self,
        workflow_execution_id: str | None = None,
        recursive: bool = False,
        state: str | None = None,
        flat: bool = False,
    ) -> list[dict[str, Any]]: ...

    def execution(self) -> dict[str, Any]: ...

    def env(self) -> dict[str, Any]: ...

    def global_var(self, name: str) -> Any: ...


def to_plain(obj: Any) -> Any:
    """Return ``obj`` as plain JSON-like Python (dict, list, scalars), whatever its container types."""
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        # str subclasses such as Jinja's Markup must not leak out of the module
        return str(obj) if isinstance(obj, str) and type(obj) is not str else obj
    if _is_undefined(obj):
        str(obj)  # a StrictUndefined raises its own, precise error here
    if isinstance(obj, Mapping):
        return {to_plain(key): to_plain(value) for key, value in obj.items()}
    if isinstance(obj, (bytes, bytearray)):
        return obj
    if isinstance(obj, Iterable):
        items = list(itertools.islice(obj, MAX_COLLECTION_SIZE + 1))
        if len(items) > MAX_COLLECTION_SIZE:
            raise ExpressionError(f"Collection is larger than {MAX_COLLECTION_SIZE} items")
        return [to_plain(item) for item in items]
    return obj


def _is_undefined(obj: Any) -> bool:
    # Checked by duck typing so this module need not know about Jinja.
    return type(obj).__name__.endswith("Undefined") and hasattr(obj, "_fail_with_undefined_error")


class _NoAliasLoader(yaml.SafeLoader):
    """Safe loader that reads ``&``/``*`` as text, so a document cannot expand into an alias bomb."""

    def fetch_alias(self) -> None:
        self.fetch_plain()

    def fetch_anchor(self) -> None:
        self.fetch_plain()


def json_parse(text: str) -> Any:
    return json.loads(text)


def json_dump(data: Any) -> str:
    return json.dumps(to_plain(data), indent=4)


def yaml_parse(text: str) -> Any:
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_dump(data: Any) -> str:
    return yaml.safe_dump(to_plain(data), default_flow_style=False)


def new_uuid() -> str:
    return str(uuid.uuid4())


class BoundFunctions:
    """The functions that need an execution, bound to one :class:`ExecutionView` (or to none)."""

    def __init__(self, view: ExecutionView | None) -> None:
        self._view = view

    def _require(self, function: str) -> ExecutionView:
        if self._view is None:
            raise ExpressionError(f"Function {function}() requires an execution context")
        return self._view

    def env(self) -> Any:
        return self._require("env").env()

    def task(self, name: str | None = None) -> Any:
        return self._require("task").task(name)

    def tasks(
        self,
        workflow_execution_id: str | None = None,
        recursive: bool = False,
        state: str | None = None,
        flat: bool = False,
    ) -> Any:
        return self._require("tasks").tasks(workflow_execution_id, recursive, state, flat)

    def execution(self) -> Any:
        return self._require("execution").execution()

    def executions(self, id: str | None = None, root_execution_id: str | None = None,  # noqa: A002
                   state: str | None = None, from_time: Any = None, to_time: Any = None) -> Any:
        # Only a view of a stored execution can list executions; the others (an action run on
        # its own, an environment being evaluated) see none.
        lister = getattr(self._require("executions"), "executions", None)
        return lister(id, root_execution_id, state, from_time, to_time) if lister is not None else []

    def global_var(self, name: str) -> Any:
        return self._require("global").global_var(name)


# Functions that need no execution, by the name expressions call them with. ``json_pp`` is Mistral's
# deprecated spelling of ``json_dump``; workflows written for Mistral still use it.
PURE_FUNCTIONS: dict[str, Any] = {
    "json_parse": json_parse,
    "json_dump": json_dump,
    "json_pp": json_dump,
    "yaml_parse": yaml_parse,
    "yaml_dump": yaml_dump,
    "uuid": new_uuid,
}


def jinja_globals(bound: BoundFunctions) -> dict[str, Any]:
    """Every custom function by its expression name, for a Jinja render context."""
    names = {
        "env": bound.env,
        "task": bound.task,
        "tasks": bound.tasks,
        "execution": bound.execution,
        "executions": bound.executions,
        "global": bound.global_var,
    }
    return {**PURE_FUNCTIONS, **names}

"""Running one action instance and reading what it gave back: the same for a worker and for the
engine's inline glue runs, so a failure reads the same whichever ran it."""

from __future__ import annotations

import json
import logging
from typing import Any

from app.actions import mistral_compat
from app.actions.base import ActionContext, Result

log = logging.getLogger(__name__)


def invoke(action_class: type, base_input: dict[str, Any], context: ActionContext, name: str,
           base_name: str) -> tuple[Result, bool]:
    """Build the action with ``base_input`` and run it; (its result, whether it is sync).

    ``name`` is the action the task named, ``base_name`` the registered action it unfolds to (the
    same unless it is an ad-hoc action). An exception is the action's failure, worded as Mistral
    words it.
    """
    action_id = context.execution.action_execution_id
    is_sync = True
    instance = None
    try:
        instance = action_class(**base_input)
        is_sync = bool(instance.is_sync())
        value = mistral_compat.as_result(instance.run(mistral_compat.context_for(instance, context)))
    except Exception as exc:  # noqa: BLE001 - an action's failure is its result
        log.info("action %s (%s) raised %r", name, action_id, exc)
        shown = _shown_action(name, base_name, instance)
        return Result(error=f"The action raised an exception [action={shown}, "
                            f"action_ex_id={action_id}, msg='{exc}']"), is_sync
    result = value if isinstance(value, Result) else Result(data=value)
    return Result(_jsonable(result.data), _jsonable(result.error), result.cancel), is_sync


class AdHocRun:
    """An ad-hoc action running its base: what a failure message names, as Mistral names its own."""

    def __init__(self, name: str, base: Any) -> None:
        self.name = name
        self.base = base


def _shown_action(name: str, base_name: str, instance: Any) -> str:
    """How a failure message names the action: the repr of the object that ran (an ad-hoc wrapper
    for an ad-hoc action), or the action's name when it could not be built."""
    if base_name != name:
        return repr(AdHocRun(name, instance))
    return repr(instance) if instance is not None else name


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))

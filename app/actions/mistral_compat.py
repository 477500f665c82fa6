"""Actions written for Mistral (``mistral_lib.actions.Action``) run unchanged.

mistral-lib is an optional extra (``pip install 'tramontane[mistral]'``): it pulls oslo libraries.
Its actions get a mistral-lib context (execution ids, and Mistral's relative ``callback_url``),
and their ``mistral_lib`` results are read as ours. Packages register them under the
``mistral.actions`` entry-point group, as they do for Mistral.
"""

from __future__ import annotations

import sys
from typing import Any

from app.actions.base import ActionContext, Result

ENTRY_POINT_GROUP = "mistral.actions"


def _loaded(module: str) -> Any:
    # A Mistral action's class was built on mistral_lib, so mistral_lib is imported by then; until it
    # is, no value can be one of its types, and the process does not pay for importing it (and oslo).
    return sys.modules.get(module)


def is_mistral_action(instance: Any) -> bool:
    base = _loaded("mistral_lib.actions.base")
    return base is not None and isinstance(instance, base.Action)


def context_for(instance: Any, context: ActionContext) -> Any:
    """The context to pass to ``run``: ours, or a mistral-lib one for a Mistral action."""
    if not is_mistral_action(instance):
        return context
    from mistral_lib.actions import context as mistral_context

    execution = context.execution
    return mistral_context.ActionContext(execution_ctx=mistral_context.ExecutionContext(
        workflow_execution_id=execution.workflow_execution_id,
        task_execution_id=execution.task_execution_id,
        action_execution_id=execution.action_execution_id,
        workflow_name=execution.workflow_name,
        callback_url=execution.callback_url,
    ))


def as_result(value: Any) -> Any:
    """A mistral-lib ``Result`` becomes ours; anything else is returned as it is."""
    types = _loaded("mistral_lib.actions.types")
    if types is not None and isinstance(value, types.Result):
        return Result(data=value.data, error=value.error, cancel=bool(value.cancel))
    return value

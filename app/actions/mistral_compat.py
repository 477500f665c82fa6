"""Actions written for Mistral (``mistral_lib.actions.Action``) run unchanged.

mistral-lib is an optional extra (``pip install 'tramontane[mistral]'``): it pulls oslo libraries.
Its actions get a mistral-lib context (execution ids, and Mistral's relative ``callback_url``),
and their ``mistral_lib`` results are read as ours. Packages register them under the
``mistral.actions`` entry-point group, as they do for Mistral.
"""

from __future__ import annotations

from typing import Any

from app.actions.base import ActionContext, Result

try:
    from mistral_lib.actions import base as mistral_base
    from mistral_lib.actions import context as mistral_context
    from mistral_lib.actions import types as mistral_types
except ImportError:  # the extra is not installed: no Mistral action can exist either
    mistral_base = mistral_context = mistral_types = None

ENTRY_POINT_GROUP = "mistral.actions"


def is_mistral_action(instance: Any) -> bool:
    return mistral_base is not None and isinstance(instance, mistral_base.Action)


def context_for(instance: Any, context: ActionContext) -> Any:
    """The context to pass to ``run``: ours, or a mistral-lib one for a Mistral action."""
    if not is_mistral_action(instance):
        return context
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
    if mistral_types is not None and isinstance(value, mistral_types.Result):
        return Result(data=value.data, error=value.error, cancel=bool(value.cancel))
    return value

"""The texts that explain why a workflow failed, worded as Mistral words them.

Clients (and people reading ``state_info``) parse these texts, so their shape is part of the
compatibility promise: the list of failed tasks, then per task its own ``state_info`` and one line
per failed action execution or sub-workflow, each with its position among the task's runs.
"""

from __future__ import annotations

import traceback
from typing import Any

from app.engine.limits import MAX_FIELD_BYTES
from app.engine.states import State
from app.engine.store import Store
from app.models import TaskExecution


def tasks_failure(store: Store, tasks: list[TaskExecution]) -> str:
    """``Failure caused by error in tasks: ...`` with a paragraph per unhandled failed task."""
    ordered = sorted(tasks, key=lambda t: t.name)
    text = "Failure caused by error in tasks: " + ", ".join(t.name for t in ordered) + "\n"
    for task in ordered:
        text += f"\n  {task.name} [task_ex_id={task.id}] -> {task.state_info}\n"
        text += _runs_lines(store, task.id)
    return cut(text)


def cut(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """``text`` within the field limit, marked with '...' where cut, as Mistral cuts it.

    A parent's message quotes each failed sub-workflow's message twice (its task's state_info and
    its own line), so without a cut nested failures would double at every level.
    """
    return text if len(text) <= limit else text[:limit] + "..."


def _runs_lines(store: Store, task_id: str) -> str:
    lines = ""
    actions, children = store.runs(task_id)
    for index, (action_id, state, output) in enumerate(actions):
        if state == State.ERROR:
            lines += f"    [action_ex_id={action_id}, idx={index}]: {_result_text(output)}\n"
    for index, (child_id, state, output) in enumerate(children):
        if state == State.ERROR:
            lines += f"    [wf_ex_id={child_id}, idx={index}]: {_result_text(output)}\n"
    return lines


def _result_text(output: dict[str, Any] | None) -> str:
    # Python's rendering of the value, as Mistral prints it (a dict shows as {'k': 'v'}).
    return str((output or {}).get("result", "Unknown"))


def _traced(text: str, error: Exception | str) -> str:
    """``text``, then the traceback of ``error`` when it was raised, as Mistral's messages carry one."""
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        return text + "\n" + "".join(traceback.format_exception(error))
    return text


def run_failure(error: Exception | str, workflow_name: str, task_name: str) -> str:
    """A task could not start: its input, action or sub-workflow could not be prepared."""
    return _traced(f"Failed to run task [error={error}, wf={workflow_name}, task={task_name}]:", error)


def completion_failure(error: Exception | str, workflow_name: str, task_name: str, action_name: str) -> str:
    """A task's result could not be handled: its publish or transitions could not be evaluated."""
    return _traced(f"Failed to handle action completion [error={error}, wf={workflow_name}, task={task_name}, "
                   f"action={action_name}]:", error)


def action_failure(error: Exception | str, action_name: str, task_name: str | None) -> str:
    """An action's result could not be turned into its output (an ad-hoc action's output failed)."""
    return _traced(f"Failed to complete action [error={error}, action={action_name}, task={task_name}]:", error)


def is_action_failure(state: str, result: Any, action_name: str, task_name: str) -> bool:
    """Whether an action's ERROR result is :func:`action_failure`'s text for this action and task."""
    return (state == State.ERROR and isinstance(result, str) and result.startswith("Failed to complete action [")
            and f", action={action_name}, task={task_name}]:" in result)


def output_failure(error: Exception | str, execution_id: str, workflow_name: str) -> str:
    """The workflow's output could not be evaluated when it completed."""
    return _traced(f"Failed to check and complete [wf_ex_id={execution_id}, wf_name={workflow_name}]: {error}", error)


def output_on_error_failure(spec_output: Any, error: Exception | str, cause: str | None) -> str:
    # The unbalanced parenthesis is Mistral's own text.
    return (f"Failed to evaluate expression in output-on-error! (output-on-error: '{spec_output}', "
            f"exception: '{error}' Cause: '{cause}'")

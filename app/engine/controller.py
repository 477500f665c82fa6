"""The direct-workflow controller: which tasks run next after a task completes. Pure.

Given the spec, a completed task's state and the data its conditions see, it returns an
:class:`Outcome`; the engine service persists it and dispatches the work.
"""

from __future__ import annotations

import json
from typing import Any

from app.engine import expressions
from app.engine.commands import Command, Outcome, RunTask, StopWorkflow
from app.engine.errors import EngineError
from app.engine.expressions import ExecutionView
from app.engine.language.spec import TaskSpec, Transition, WorkflowSpec
from app.engine.states import State

_STOP_STATES = {"fail": State.ERROR.value, "succeed": State.SUCCESS.value, "pause": State.PAUSED.value}


def start_commands(spec: WorkflowSpec, context: dict[str, Any]) -> list[Command]:
    return [RunTask(name, dict(context)) for name in spec.start_tasks()]


def after_task(
    spec: WorkflowSpec,
    task: TaskSpec,
    state: str,
    data: dict[str, Any],
    outbound: dict[str, Any],
    view: ExecutionView,
    task_execution_id: str | None = None,
) -> Outcome:
    """Follow the on-* clauses of ``task`` that apply to ``state``."""
    clauses = spec.clauses(task)
    if state == State.CANCELLED:
        return Outcome()
    selected: list[tuple[str, Transition]] = []
    if state == State.ERROR:
        selected += [("on-error", t) for t in clauses["on-error"].transitions]
    elif state == State.SKIPPED:
        skipped = [("on-skip", t) for t in (task.on_skip.transitions if task.on_skip is not None else ())]
        if not any(_condition_holds(t, data, view) for _, t in skipped):
            # As in Mistral: a skip no on-skip transition follows goes down on-success.
            skipped = [("on-success", t) for t in clauses["on-success"].transitions]
        selected += skipped
    elif state == State.SUCCESS:
        selected += [("on-success", t) for t in clauses["on-success"].transitions]
    if state != State.SKIPPED:
        selected += [("on-complete", t) for t in clauses["on-complete"].transitions]
    fired: list[tuple[str, Transition]] = [
        (key, t) for key, t in selected if _condition_holds(t, data, view)
    ]
    error_handled = state == State.ERROR and any(key == "on-error" for key, _ in fired)
    commands = [_to_command(t, data, outbound, view, _trigger(task_execution_id, key), task.name)
                for key, t in fired]
    kept, backlog = arrange(commands)
    return Outcome(
        commands=tuple(kept),
        fired=tuple(t.target for _, t in fired),
        error_handled=error_handled,
        backlog=tuple(backlog),
    )


def arrange(commands: list[Command | None]) -> tuple[list[Command], list[Command]]:
    """Apply Mistral's ordering rules: drop ``noop``; stop at the first state-changing command.

    Commands before a ``fail``/``succeed``/``pause`` are kept; a ``pause`` keeps the rest as a
    backlog for the resume.
    """
    useful = [c for c in commands if c is not None]
    for index, command in enumerate(useful):
        if isinstance(command, StopWorkflow):
            backlog = useful[index + 1:] if command.state == State.PAUSED else []
            return useful[: index + 1], backlog
    return useful, []


def _condition_holds(transition: Transition, data: dict[str, Any], view: ExecutionView) -> bool:
    if transition.condition is None:
        return True
    value = transition.condition
    if isinstance(value, str):
        value = expressions.evaluate(value, data, view)
    return bool(value)


def _trigger(task_execution_id: str | None, clause: str) -> dict[str, Any] | None:
    """The ``triggered_by`` entry of a task started by ``clause`` of the task that completed."""
    return {"task_id": task_execution_id, "event": clause} if task_execution_id else None


def _to_command(
    transition: Transition,
    data: dict[str, Any],
    outbound: dict[str, Any],
    view: ExecutionView,
    trigger: dict[str, Any] | None,
    source: str,
) -> Command | None:
    if transition.target == "noop":
        return None
    if transition.target in _STOP_STATES:
        message = expressions.evaluate_recursively(transition.params.get("msg"), data, view)
        if isinstance(message, (dict, list)):
            message = json.dumps(message)
        return StopWorkflow(_STOP_STATES[transition.target], None if message is None else str(message))
    return RunTask(transition.target, dict(outbound), trigger, source)


def join_targets_missed(spec: WorkflowSpec, task: TaskSpec, fired: tuple[str, ...]) -> list[str]:
    """Join tasks that ``task`` could have triggered but did not."""
    targets = {
        t.target for clause in spec.clauses(task).values() for t in clause.transitions
        if t.target in spec.tasks and spec.tasks[t.target].is_join
    }
    return sorted(targets - set(fired))


def reverse_plan(spec: WorkflowSpec, target: str | None) -> list[str]:
    """The tasks a reverse workflow runs to reach ``target``: its ``requires`` closure."""
    if not target or target not in spec.tasks:
        raise EngineError(f"Invalid task name [wf_spec=ReverseWorkflowSpec {_spec_repr(spec)}, task_name={target}]")
    order: list[str] = []
    seen: set[str] = set()
    stack = [target]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        stack.extend(_requires(spec, name))
    return order


def _requires(spec: WorkflowSpec, name: str) -> list[str]:
    task = spec.tasks[name]
    return list(dict.fromkeys([*task.requires, *(r for r in spec.default_requires if r != name)]))


def _spec_repr(spec: WorkflowSpec) -> str:
    """The workflow as Mistral prints its parsed spec: each task and the workflow get their type (the
    workflow's), name and version after the keys written."""
    own = ("name", "version")
    tasks = {name: {**{k: v for k, v in (task.raw or {}).items() if k not in (*own, "type")},
                    "type": spec.type, "name": name, "version": "2.0"}
             for name, task in spec.tasks.items()}
    workflow = {k: (tasks if k == "tasks" else v) for k, v in spec.raw.items() if k not in own}
    return str({**workflow, "name": spec.name, "version": "2.0"})


def reverse_start(spec: WorkflowSpec, target: str | None) -> list[Command]:
    return [RunTask(name, {}) for name in reverse_plan(spec, target) if not _requires(spec, name)]


def reverse_next(spec: WorkflowSpec, target: str | None, succeeded: set[str], started: set[str],
                 context: dict[str, Any]) -> list[Command]:
    """Tasks of the plan whose requirements all succeeded and that have not started yet."""
    return [
        RunTask(name, dict(context)) for name in reverse_plan(spec, target)
        if name not in started and all(req in succeeded for req in _requires(spec, name))
    ]

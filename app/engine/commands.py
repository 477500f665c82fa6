"""What the controller asks the engine service to do. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunTask:
    """Start ``task_name`` with the outbound context of the task that triggered it."""

    task_name: str
    in_context: dict[str, Any] = field(default_factory=dict)
    # ``{"task_id": ..., "event": "on-success"}``: shown in the new task's runtime_context.
    triggered_by: dict[str, Any] | None = None
    source: str | None = None


@dataclass(frozen=True)
class StopWorkflow:
    """An engine command (``fail``, ``succeed``, ``pause``) changing the workflow's state."""

    state: str
    message: str | None = None


Command = RunTask | StopWorkflow


@dataclass(frozen=True)
class Outcome:
    """The controller's answer to a completed task."""

    commands: tuple[Command, ...] = ()
    fired: tuple[str, ...] = ()
    error_handled: bool = False
    # Commands after a ``pause``; they run when the workflow resumes.
    backlog: tuple[Command, ...] = ()

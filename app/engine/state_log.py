"""One log line per state change: an execution's at INFO, a task's at DEBUG.

Every flush records the state changes of executions and tasks in the session; the engine service
logs them once the transaction committed (a rolled-back step changed nothing). Each line carries
the ids and names as fields (see :mod:`app.logs`), so the lines of one execution can be found in
the logs of every process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import TaskExecution, WorkflowExecution

log = logging.getLogger("app.engine.states")
_PENDING = "tramontane.state_changes"


def start_recording(session: Session) -> None:
    session.info[_PENDING] = []


# Told of every committed change (the metrics count them); registered at process start.
_subscribers: list[Callable[[dict[str, Any]], None]] = []


def subscribe(callback: Callable[[dict[str, Any]], None]) -> None:
    if callback not in _subscribers:
        _subscribers.append(callback)


def emit_recorded(session: Session) -> None:
    """Log what the committed transaction changed, and tell the subscribers."""
    recorded = session.info.pop(_PENDING, None) or []
    for level, message, fields in recorded:
        log.log(level, message, extra=fields)
    for callback in _subscribers:
        for _, _, fields in recorded:
            callback(fields)


def discard_recorded(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _change(session: Session, row: Any) -> tuple[str | None, str] | None:
    if row in session.new:
        return None, row.state
    history = inspect(row).attrs.state.history
    if not history.has_changes() or not history.deleted or history.deleted[0] == row.state:
        return None
    return history.deleted[0], row.state


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    pending: list[tuple[int, str, dict[str, Any]]] | None = session.info.get(_PENDING)
    if pending is None or not (log.isEnabledFor(logging.INFO) or _subscribers):
        return
    tasks_too = log.isEnabledFor(logging.DEBUG)
    for row in [*session.new, *session.dirty]:
        if isinstance(row, WorkflowExecution):
            change = _change(session, row)
            if change is not None:
                pending.append((logging.INFO, f"execution {row.workflow_name} {row.id}: "
                                              f"{change[0] or 'new'} -> {change[1]}",
                                {"execution_id": row.id, "workflow_name": row.workflow_name,
                                 "previous_state": change[0], "state": change[1]}))
        elif tasks_too and isinstance(row, TaskExecution):
            change = _change(session, row)
            if change is not None:
                pending.append((logging.DEBUG, f"task {row.workflow_name}.{row.name} {row.id}: "
                                               f"{change[0] or 'new'} -> {change[1]}",
                                {"execution_id": row.workflow_execution_id, "task_id": row.id,
                                 "workflow_name": row.workflow_name, "task_name": row.name,
                                 "previous_state": change[0], "state": change[1]}))


event.listen(Session, "before_flush", _before_flush)

"""The actions waiting for a callback: every async action execution still RUNNING, across executions.

A read-only query for people (the console's inbox) and tools: oldest first, a page at a time, on the
index ``ix_action_ex_waiting`` (is_sync, state, created_at, id), so its cost follows the page, not the
number of executions kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from app.engine.errors import EngineError, NotFound
from app.engine.states import State
from app.models import ActionExecution, WorkflowExecution

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class WaitingAction:
    """One action a third party (or a person) is expected to complete."""

    id: str
    name: str
    created_at: datetime
    workflow_execution_id: str | None
    workflow_name: str | None
    workflow_namespace: str
    task_execution_id: str | None
    task_name: str | None
    # The execution's own description and state: a paused execution's action still waits.
    execution_description: str | None
    execution_state: str | None
    # What was sent to the third party (secrets masked); None for an action that sent nothing.
    sent_request: dict[str, Any] | None


@dataclass(frozen=True)
class WaitingPage:
    actions: list[WaitingAction]
    # Every action waiting now, on every page.
    total: int
    # Give it back as ``marker`` for the next page; None on the last page.
    next_marker: str | None


_WAITING = (ActionExecution.is_sync == false(), ActionExecution.state == State.RUNNING.value)


def waiting_actions(session: Session, limit: int = DEFAULT_LIMIT, marker: str | None = None,
                    workflow_name: str | None = None) -> WaitingPage:
    """A page of the waiting actions, oldest first; ``marker`` is the id that ended the page before;
    ``workflow_name`` keeps those of that workflow's executions."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise EngineError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    waiting = [*_WAITING, *([ActionExecution.workflow_name == workflow_name] if workflow_name else [])]
    query = (
        select(ActionExecution.id, ActionExecution.name, ActionExecution.created_at,
               ActionExecution.workflow_execution_id, ActionExecution.workflow_name,
               ActionExecution.workflow_namespace, ActionExecution.task_execution_id, ActionExecution.task_name,
               WorkflowExecution.description, WorkflowExecution.state, ActionExecution.sent_request)
        .outerjoin(WorkflowExecution, WorkflowExecution.id == ActionExecution.workflow_execution_id)
        .where(*waiting)
        .order_by(ActionExecution.created_at, ActionExecution.id)
        .limit(limit + 1)
    )
    if marker:
        query = query.where(_after(session, marker))
    rows = session.execute(query).all()
    total = session.scalar(select(func.count()).select_from(ActionExecution).where(*waiting)) or 0
    page = [WaitingAction(*row) for row in rows[:limit]]
    return WaitingPage(page, int(total), page[-1].id if len(rows) > limit else None)


def _after(session: Session, marker: str) -> Any:
    # The marker's own row may have been completed since: its place in the order still holds.
    created_at = session.scalar(select(ActionExecution.created_at).where(ActionExecution.id == marker))
    if created_at is None:
        raise NotFound(f"ActionExecution not found [id={marker}]: the marker names no action execution")
    return or_(ActionExecution.created_at > created_at,
               and_(ActionExecution.created_at == created_at, ActionExecution.id > marker))

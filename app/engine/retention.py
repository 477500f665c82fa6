"""Deleting finished executions: Mistral's expiration policy, and ``tramontane purge`` by hand.

This module chooses; the engine deletes. Only root executions are chosen, and only when they and
every sub-workflow below them are finished; each goes with its whole tree through the engine's
deletion (:meth:`Engine.delete_executions`, the one way an execution is deleted, as
``DELETE /v2/executions/<id>`` does it). Each batch is one transaction that locks the roots it takes
with ``SKIP LOCKED`` (PostgreSQL), so two schedulers never purge the same rows; SQLite serialises
writers anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.engine.service import Engine
from app.models import WorkflowExecution, utc_now

FINISHED = ("SUCCESS", "ERROR", "CANCELLED")


@dataclass(frozen=True)
class Retention:
    """Which finished executions go: older than ``older_than``, or beyond the newest ``max_finished``;
    only those in ``states`` (all finished states by default)."""

    older_than: timedelta | None = None
    max_finished: int | None = None
    states: tuple[str, ...] = FINISHED
    batch: int = 200

    @property
    def enabled(self) -> bool:
        return self.older_than is not None or self.max_finished is not None


def _roots(policy: Retention, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions a root must meet: finished, in the states, with no unfinished descendant."""
    child = aliased(WorkflowExecution)
    unfinished_below = exists().where(child.root_execution_id == WorkflowExecution.id,
                                      child.state.not_in(FINISHED))
    conditions: list[ColumnElement[bool]] = [WorkflowExecution.task_execution_id.is_(None),
                                WorkflowExecution.state.in_(policy.states), ~unfinished_below]
    if policy.older_than is not None:
        conditions.append(WorkflowExecution.updated_at < now - policy.older_than)
    return conditions


def _newest_kept(session: Session, policy: Retention) -> datetime | None:
    """With ``max_finished``: the update time of the oldest execution that is kept."""
    if policy.max_finished is None:
        return None
    return session.scalar(
        select(WorkflowExecution.updated_at)
        .where(WorkflowExecution.task_execution_id.is_(None), WorkflowExecution.state.in_(FINISHED))
        .order_by(WorkflowExecution.updated_at.desc()).offset(max(policy.max_finished - 1, 0)).limit(1))


def _select(session: Session, policy: Retention, now: datetime) -> Select[str] | None:
    conditions = _roots(policy, now)
    if policy.max_finished is not None:
        boundary = _newest_kept(session, policy)
        if boundary is None:
            return None
        conditions.append(WorkflowExecution.updated_at < boundary)
    return select(WorkflowExecution.id).where(*conditions)


def count(session: Session, policy: Retention, now: datetime | None = None) -> int:
    """How many root executions the policy would delete now."""
    query = _select(session, policy, now or utc_now())
    if query is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def choose(session: Session, policy: Retention, now: datetime | None = None) -> list[str]:
    """One batch of the root executions the policy deletes, oldest first, locked until the commit
    (those another transaction holds are skipped)."""
    query = _select(session, policy, now or utc_now())
    if query is None:
        return []
    return list(session.scalars(
        query.order_by(WorkflowExecution.updated_at).limit(policy.batch).with_for_update(skip_locked=True)))


def purge_batch(engine: Engine, policy: Retention, now: datetime | None = None) -> list[str]:
    """Delete one batch of root executions with their trees, committed; returns their ids."""
    return engine.delete_executions(lambda: choose(engine.session, policy, now))

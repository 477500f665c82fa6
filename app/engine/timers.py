"""Durable timers: delayed work kept as rows and fired by the scheduler process.

A timer is claimed with a compare-and-set before it fires, so two schedulers running at once (a
deploy overlap) never fire the same timer twice. A claim expires, so a scheduler that died while
firing does not lose the timer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from app.models import TaskExecution, Timer, new_id, utc_now

CLAIM_SECONDS = 60
TimerHandler = Callable[[Timer], None]


def schedule(session: Session, kind: str, target_id: str, delay_seconds: float,
             payload: dict[str, Any] | None = None) -> Timer:
    """Add a timer in the caller's transaction."""
    timer = Timer(id=new_id(), kind=kind, target_id=target_id, payload=payload or {},
                  due_at=utc_now() + timedelta(seconds=delay_seconds))
    session.add(timer)
    return timer


def claim_due(session: Session, owner: str, now: datetime | None = None, limit: int = 100,
              claim_seconds: float = CLAIM_SECONDS) -> list[tuple[str, str]]:
    """Claim up to ``limit`` due timers for ``owner`` for ``claim_seconds``; returns their (id, kind).

    The caller commits.
    """
    now = now or utc_now()
    candidates = session.execute(
        select(Timer.id, Timer.kind).where(_claimable(now)).order_by(Timer.due_at).limit(limit)
    ).all()
    claimed = []
    until = now + timedelta(seconds=claim_seconds)
    for timer_id, kind in candidates:
        outcome = session.execute(
            update(Timer)
            .where(Timer.id == timer_id, or_(Timer.claimed_until.is_(None), Timer.claimed_until < now))
            .values(claimed_by=owner, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(outcome, "rowcount", 0):
            claimed.append((timer_id, kind))
    return claimed


def due_exists(now: datetime | ColumnElement[datetime]) -> Exists:
    """Whether a timer is due and free to claim, as an EXISTS to ask together with other questions."""
    return exists().where(_claimable(now))


def _claimable(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    return and_(Timer.due_at <= now, or_(Timer.claimed_until.is_(None), Timer.claimed_until < now))


def finish(session: Session, timer_id: str, owner: str) -> None:
    """Remove a fired timer, unless another scheduler took it over meanwhile. The caller commits."""
    session.execute(delete(Timer).where(Timer.id == timer_id, Timer.claimed_by == owner))


def overdue_count(session: Session, grace_seconds: float = 30) -> int:
    limit = utc_now() - timedelta(seconds=grace_seconds)
    return len(session.scalars(select(Timer.id).where(Timer.due_at < limit).limit(1000)).all())


def cancel_for_workflow(session: Session, workflow_execution_id: str) -> None:
    """Drop the timers of every task of a workflow that ends early."""
    task_ids = select(TaskExecution.id).where(TaskExecution.workflow_execution_id == workflow_execution_id)
    session.execute(delete(Timer).where(Timer.target_id.in_(task_ids)).execution_options(
        synchronize_session=False))

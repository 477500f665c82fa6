"""A scheduler's claim on a due timer lasts ``TIMER_CLAIM_SECONDS``; then another scheduler may fire it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, update

from app.engine import timers
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import Timer, new_id

# Due far ahead, and claimed "then": a real scheduler sharing the database (the live stack's) never
# finds this timer due, so only the claims taken here touch it. Those claims take every other timer
# due by then too, for a moment: they are given back at the end.
FAR_AHEAD = datetime(2999, 1, 1)


def test_a_claim_expires_after_the_claim_time(engine_app: Flask) -> None:
    with engine_app.app_context():
        timer_id = new_id()
        first, second = f"first-{timer_id}", f"second-{timer_id}"
        with_retries(session(), lambda: session().add(
            Timer(id=timer_id, kind="continue_task", target_id=new_id(), payload={}, due_at=FAR_AHEAD)))
        try:
            def claim(owner: str, seconds_after_due: float) -> list[str]:
                claimed = with_retries(session(), lambda: timers.claim_due(
                    session(), owner, now=FAR_AHEAD + timedelta(seconds=seconds_after_due), limit=100_000,
                    claim_seconds=5))
                return [claimed_id for claimed_id, _ in claimed]

            assert timer_id in claim(first, 0)
            assert timer_id not in claim(second, 4.9)
            assert timer_id in claim(second, 5.1)
        finally:
            with_retries(session(), lambda: session().execute(delete(Timer).where(Timer.id == timer_id)))
            with_retries(session(), lambda: session().execute(
                update(Timer).where(Timer.claimed_by.in_((first, second))).values(claimed_by=None, claimed_until=None)))

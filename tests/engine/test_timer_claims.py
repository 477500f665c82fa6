"""A scheduler's claim on a due timer lasts ``TIMER_CLAIM_SECONDS``; then another scheduler may fire it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete

from app.engine import timers
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import Timer, new_id

# Due long ago, and claimed "then": no other timer of a shared database is due that early, and the
# claims taken here expired long ago for a real scheduler.
LONG_AGO = datetime(1971, 1, 1)


def test_a_claim_expires_after_the_claim_time(engine_app: Flask) -> None:
    with engine_app.app_context():
        timer_id = new_id()
        with_retries(session(), lambda: session().add(
            Timer(id=timer_id, kind="continue_task", target_id=new_id(), payload={}, due_at=LONG_AGO)))
        try:
            def claim(owner: str, seconds_after_due: float) -> list[str]:
                claimed = with_retries(session(), lambda: timers.claim_due(
                    session(), owner, now=LONG_AGO + timedelta(seconds=seconds_after_due), claim_seconds=5))
                return [claimed_id for claimed_id, _ in claimed]

            assert claim("first", 0) == [timer_id]
            assert claim("second", 4.9) == []
            assert claim("second", 5.1) == [timer_id]
        finally:
            with_retries(session(), lambda: session().execute(delete(Timer).where(Timer.id == timer_id)))

"""A scheduler's claim on a due timer lasts ``TIMER_CLAIM_SECONDS``; then another scheduler may fire it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete

from app.engine import timers
from app.extensions import session
from app.models import Timer, new_id

# Due long ago, and claimed "then": no other timer of a shared database is due that early, and the
# claims taken here expired long ago for a real scheduler.
LONG_AGO = datetime(1971, 1, 1)


def test_a_claim_expires_after_the_claim_time(engine_app: Flask) -> None:
    with engine_app.app_context():
        timer = Timer(id=new_id(), kind="continue_task", target_id=new_id(), payload={}, due_at=LONG_AGO)
        session().add(timer)
        session().commit()
        try:
            def claim(owner: str, seconds_after_due: float) -> list[str]:
                claimed = timers.claim_due(session(), owner, now=LONG_AGO + timedelta(seconds=seconds_after_due),
                                           claim_seconds=5)
                session().commit()
                return [timer_id for timer_id, _ in claimed]

            assert claim("first", 0) == [timer.id]
            assert claim("second", 4.9) == []
            assert claim("second", 5.1) == [timer.id]
        finally:
            session().execute(delete(Timer).where(Timer.id == timer.id))
            session().commit()

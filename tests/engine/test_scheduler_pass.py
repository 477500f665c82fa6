"""A scheduler pass first asks, in one read, whether anything is due; it writes only when something is.

On SQLite a write transaction queues for the one writer lock: a pass that took it five times a
second to find nothing would make the workers' steps wait, and cost CPU for nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import delete

from app import scheduler
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import Timer, new_id
from tests.engine.writer_lock import run_while_writers_locked_out

# Nothing is due this early; everything is due this late (see test_timer_claims).
LONG_AGO = datetime(2000, 1, 1)
FAR_AHEAD = datetime(2999, 1, 1)
TABLES = ("timers", "cron_triggers")


def test_a_pass_finds_nothing_due_without_waiting_for_writers(engine_app: Flask,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    assert run_while_writers_locked_out(engine_app, TABLES, lambda: scheduler._due_work(LONG_AGO)) == (False, False)
    # A failed question also answers "nothing due" (the loop goes on): it must not have failed.
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_pass_sees_a_due_timer_without_waiting_for_writers(engine_app: Flask) -> None:
    with engine_app.app_context():
        timer_id = new_id()
        with_retries(session(), lambda: session().add(
            Timer(id=timer_id, kind="continue_task", target_id=new_id(), payload={}, due_at=FAR_AHEAD)))
        try:
            timers_due, _ = run_while_writers_locked_out(engine_app, TABLES, lambda: scheduler._due_work(FAR_AHEAD))
            assert timers_due
            assert scheduler._due_work(LONG_AGO) == (False, False)
        finally:
            with_retries(session(), lambda: session().execute(delete(Timer).where(Timer.id == timer_id)))

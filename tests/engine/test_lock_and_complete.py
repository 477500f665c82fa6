"""On PostgreSQL an action's result is written by the statement that locks its workflow: the lock
is still taken first (the engine's lock order), an action no longer RUNNING is left as it is, and a
task that is not the workflow's locks and writes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.engine.dispatch import RunAction
from app.engine.transactions import _LOCK_AND_COMPLETE, lock_workflow_with_task_completing
from app.extensions import db, session
from app.models import ActionExecution, utc_now
from tests.engine.driver import EngineDriver

pytestmark = pytest.mark.usefixtures("postgres_only")

ONE_TASK = """
version: '2.0'
lock_and_complete:
  tasks:
    only:
      action: bench.noop
"""
WAIT_SECONDS = 10.0


def _running_action(driver: EngineDriver) -> ActionExecution:
    """A started execution whose one action is RUNNING, nobody's yet (committed)."""
    driver.define(ONE_TASK)
    driver.start("lock_and_complete")
    (message,) = [m for m in driver.pending if isinstance(m, RunAction)]
    action = session().get(ActionExecution, message.action_execution_id)
    assert action is not None and action.state == "RUNNING"
    session().commit()
    return action


def _values(action: ActionExecution, task_id: str | None = None) -> dict[str, Any]:
    return {"workflow_id": action.workflow_execution_id, "task_id": task_id or action.task_execution_id,
            "action_id": action.id, "action_state": "SUCCESS", "action_output": {"result": "done"},
            "now": utc_now()}


def _stored(action_id: str) -> tuple[str, Any]:
    with db.engine.connect() as connection:
        state, output = connection.execute(
            text("SELECT state, output FROM action_executions WHERE id = :id"), {"id": action_id}).one()
    return state, output


def _waits_for_a_lock(statement_start: str) -> bool:
    with db.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE :start"),
            {"start": statement_start + "%"}).scalar())


@contextmanager
def _completing_while_the_workflow_is_held(action: ActionExecution) -> Iterator[tuple[Connection, list[Any]]]:
    """A transaction that holds the workflow's lock, and the statement completing ``action`` from
    another thread, waiting for that lock; the statement's row (in the list) once the block ends
    the holder's transaction."""
    outcome: list[Any] = []
    engine = db.engine  # the thread has no application context

    def complete() -> None:
        with engine.connect() as connection:
            outcome.append(_LOCK_AND_COMPLETE[False].first(connection, _values(action)))
            connection.commit()

    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM workflow_executions WHERE id = :id FOR UPDATE"),
                       {"id": action.workflow_execution_id})
        completing = threading.Thread(target=complete)
        completing.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not _waits_for_a_lock("WITH locked AS"):
            assert time.monotonic() < deadline, "the statement never waited for the workflow's lock"
            time.sleep(0.01)
        yield holder, outcome
        holder.commit()
    completing.join(WAIT_SECONDS)
    assert not completing.is_alive()


def test_the_workflow_is_locked_before_the_action_is_written(driver: EngineDriver) -> None:
    action = _running_action(driver)

    with _completing_while_the_workflow_is_held(action) as (holder, outcome):
        # Waiting for the workflow, it holds no lock on the action and has written nothing: a
        # step that holds the workflow's lock can still take the action's row (a cancel does).
        holder.execute(text("SELECT id FROM action_executions WHERE id = :id FOR UPDATE NOWAIT"), {"id": action.id})
        assert _stored(action.id)[0] == "RUNNING"

    (row,) = outcome
    assert row is not None and row[-1] == 1
    assert _stored(action.id) == ("SUCCESS", {"result": "done"})


def test_an_action_ended_by_the_transaction_the_lock_waited_for_is_left_as_it_ended(driver: EngineDriver) -> None:
    # A cancel, say: it holds the workflow's lock and ends the action while the result waits.
    action = _running_action(driver)

    with _completing_while_the_workflow_is_held(action) as (holder, outcome):
        holder.execute(text("UPDATE action_executions SET state = 'CANCELLED' WHERE id = :id"), {"id": action.id})

    (row,) = outcome
    assert row is not None and row[-1] == 0
    assert _stored(action.id)[0] == "CANCELLED"


def test_an_action_no_longer_running_is_left_as_it_is(driver: EngineDriver) -> None:
    action = _running_action(driver)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE action_executions SET state = 'CANCELLED' WHERE id = :id"), {"id": action.id})

    values = _values(action)
    locked = lock_workflow_with_task_completing(
        session(), values["workflow_id"], values["task_id"], False, action.id, "SUCCESS", {"result": "done"},
        values["now"])
    session().rollback()

    assert locked is not None
    workflow, task, completed = locked
    assert (workflow.id, task.id, completed) == (action.workflow_execution_id, action.task_execution_id, False)
    assert _stored(action.id)[0] == "CANCELLED"


def test_a_task_of_another_workflow_locks_and_writes_nothing(driver: EngineDriver) -> None:
    action = _running_action(driver)

    locked = lock_workflow_with_task_completing(
        session(), action.workflow_execution_id or "", "no-such-task", False, action.id, "SUCCESS",
        {"result": "done"}, utc_now())
    session().commit()

    assert locked is None
    assert _stored(action.id)[0] == "RUNNING"

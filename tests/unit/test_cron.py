"""``cron.fire_due`` on the test database: one execution per occurrence, whatever happens.

Several threads, each with its own session, play schedulers running at once (a deploy overlap).
Occurrences lie in 2099, so a live stack's scheduler sharing the database never finds them due.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.config import Settings
from app.engine import cron, definitions
from app.engine.dispatch import CollectingDispatcher
from app.engine.service import Engine
from app.engine.transactions import with_retries
from app.extensions import session
from app.factory import create_app
from app.models import CronTrigger, WorkflowExecution

T = TypeVar("T")
T0 = datetime(2099, 1, 1)
SCHEDULERS = 3

WORKFLOWS = """\
version: '2.0'
cron_unit_wf:
  input: [n]
  tasks:
    only:
      action: std.noop
cron_unit_doomed:
  tasks:
    only:
      action: std.noop
"""


@pytest.fixture(scope="module")
def app(settings: Settings) -> Flask:
    flask_app = create_app(settings, dispatcher=CollectingDispatcher())
    with flask_app.app_context():
        if definitions.find_by_name(session(), "cron_unit_wf") is None:
            _write(lambda: definitions.create_workflows(session(), WORKFLOWS))
    return flask_app


def _write(unit: Callable[[], T]) -> T:
    """A write transaction of its own: the database is shared with a live stack."""
    return with_retries(session(), unit)


@pytest.fixture()
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def _engine() -> Engine:
    return Engine(session(), CollectingDispatcher())


def _trigger(name: str, first_due: datetime, count: int | None = None, workflow: str = "cron_unit_wf",
             pattern: str = "* * * * * *") -> str:
    """A trigger firing every second whose next occurrence is ``first_due``."""
    new = cron.NewTrigger(name=name, workflow=workflow, pattern=pattern, remaining_executions=count,
                          workflow_input={"n": 1} if workflow == "cron_unit_wf" else {})
    row = _write(lambda: cron.create(session(), new, now=first_due - timedelta(seconds=1)))
    assert row.next_execution_time == first_due
    return row.id


def _executions(trigger_id: str) -> list[WorkflowExecution]:
    session().commit()  # a fresh snapshot
    return list(session().scalars(
        select(WorkflowExecution).where(WorkflowExecution.description.contains(trigger_id))
    ))


def _row(trigger_id: str) -> CronTrigger | None:
    session().commit()
    return session().get(CronTrigger, trigger_id, populate_existing=True)


@pytest.fixture()
def cleanup(ctx: None) -> Iterator[list[str]]:
    trigger_ids: list[str] = []
    yield trigger_ids
    for trigger_id in trigger_ids:
        ids = [execution.id for execution in _executions(trigger_id)]

        def remove(trigger_id: str = trigger_id, ids: list[str] = ids) -> None:
            session().execute(delete(WorkflowExecution).where(WorkflowExecution.id.in_(ids)))
            session().execute(delete(CronTrigger).where(CronTrigger.id == trigger_id))

        _write(remove)


def _fire_concurrently(app: Flask, now: datetime) -> list[Any]:
    """``fire_due`` in several threads released at the same instant; returns each result or error."""
    barrier = threading.Barrier(SCHEDULERS)
    outcomes: list[Any] = [None] * SCHEDULERS

    def scheduler(index: int) -> None:
        with app.app_context():
            engine = _engine()
            barrier.wait()
            try:
                outcomes[index] = cron.fire_due(session(), engine, now=now)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                outcomes[index] = exc

    threads = [threading.Thread(target=scheduler, args=(index,)) for index in range(SCHEDULERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_schedulers_start_one_execution_per_occurrence(app: Flask, cleanup: list[str]) -> None:
    trigger_id = _trigger("cron_unit_race", T0, count=5)
    cleanup.append(trigger_id)
    for occurrence in range(5):
        now = T0 + timedelta(seconds=occurrence, milliseconds=500)
        outcomes = _fire_concurrently(app, now)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        executions = _executions(trigger_id)
        assert len(executions) == occurrence + 1, f"occurrence {occurrence}: {len(executions)} executions"
        row = _row(trigger_id)
        if occurrence < 4:
            assert row is not None
            assert row.remaining_executions == 4 - occurrence
            assert row.next_execution_time == T0 + timedelta(seconds=occurrence + 1)
        else:
            assert row is None  # the fifth and last occurrence deletes the trigger
    executions = _executions(trigger_id)
    assert len({execution.id for execution in executions}) == 5
    assert all(execution.workflow_name == "cron_unit_wf" and execution.input == {"n": 1}
               for execution in executions)


def test_missed_occurrences_start_one_execution(ctx: None, cleanup: list[str]) -> None:
    due = T0 + timedelta(hours=1)
    trigger_id = _trigger("cron_unit_missed", due)
    cleanup.append(trigger_id)
    assert cron.fire_due(session(), _engine(), now=due + timedelta(seconds=10, milliseconds=500)) >= 1
    assert len(_executions(trigger_id)) == 1
    row = _row(trigger_id)
    assert row is not None and row.remaining_executions is None
    assert row.next_execution_time == due + timedelta(seconds=11)


def test_a_scheduler_dying_after_the_start_does_not_start_it_again(
        ctx: None, cleanup: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    due = T0 + timedelta(hours=2)
    trigger_id = _trigger("cron_unit_crash", due, count=2)
    cleanup.append(trigger_id)

    def die(*_: Any) -> bool:
        raise RuntimeError("the scheduler died here")

    monkeypatch.setattr(cron, "_advance", die)
    cron.fire_due(session(), _engine(), now=due)
    assert len(_executions(trigger_id)) == 1
    row = _row(trigger_id)
    assert row is not None and row.next_execution_time == due and row.remaining_executions == 2

    monkeypatch.undo()
    cron.fire_due(session(), _engine(), now=due)
    assert len(_executions(trigger_id)) == 1  # found, not started again
    row = _row(trigger_id)
    assert row is not None and row.next_execution_time == due + timedelta(seconds=1)
    assert row.remaining_executions == 1


def test_an_occurrence_that_cannot_start_still_moves_the_trigger_on(ctx: None, cleanup: list[str]) -> None:
    due = T0 + timedelta(hours=3)
    trigger_id = _trigger("cron_unit_doomed", due, workflow="cron_unit_doomed")
    cleanup.append(trigger_id)
    # The API refuses to delete a scheduled workflow, but a workbook update can still drop it.
    _write(lambda: session().delete(definitions.get_workflow(session(), "cron_unit_doomed")))
    cron.fire_due(session(), _engine(), now=due)
    assert _executions(trigger_id) == []
    row = _row(trigger_id)
    assert row is not None and row.next_execution_time == due + timedelta(seconds=1)


def test_patterns_and_first_times() -> None:
    assert cron.next_time("* * * * * */2", datetime(2099, 1, 1, 0, 0, 7)) == datetime(2099, 1, 1, 0, 0, 8)
    # croniter's seconds field is the last one: this is every second of even minutes.
    assert cron.next_time("*/2 * * * * *", datetime(2099, 1, 1, 0, 0, 7)) == datetime(2099, 1, 1, 0, 0, 8)
    assert cron.next_time("*/2 * * * * *", datetime(2099, 1, 1, 0, 1, 7)) == datetime(2099, 1, 1, 0, 2, 0)
    assert cron.next_time("@hourly", datetime(2099, 1, 1, 0, 1)) == datetime(2099, 1, 1, 1, 0)
    assert cron.parse_first_time("2099-01-02 03:04") == datetime(2099, 1, 2, 3, 4)
    assert cron.parse_first_time("2099-01-02 03:04:05") == datetime(2099, 1, 2, 3, 4, 5)
    assert cron.parse_first_time(None) is None

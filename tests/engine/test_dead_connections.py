"""A pooled server connection that died (the server restarted, an idle connection was cut) costs a
retry on a fresh connection, never the engine's work."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask

from app import database, scheduler
from app.engine import transactions
from app.engine.dispatch import RunAction
from app.engine.states import State
from app.engine.sweeper import Sweeper
from app.extensions import session
from app.workers import executor
from tests.engine.driver import EngineDriver
from tests.support.dead_connections import end_pooled_connections, forget_kept_connection


@pytest.fixture(autouse=True)
def _no_dead_kept_connection_left(engine_app: Flask) -> Iterator[None]:
    yield
    forget_kept_connection(engine_app)


CHAIN = """
version: '2.0'
survives_dead_connections:
  tasks:
    first:
      action: std.noop
      on-success: [second]
    second:
      action: std.noop
"""


@pytest.mark.usefixtures("postgres_only")
def test_a_unit_whose_connection_died_runs_again_on_a_fresh_one(driver: EngineDriver) -> None:
    driver.define(CHAIN)
    driver.start("survives_dead_connections")
    # Used a moment ago: no ping at checkout, the first statement finds the connection dead.
    end_pooled_connections()
    driver.run()
    assert driver.execution().state == State.SUCCESS
    assert [task.state for task in driver.tasks()] == [State.SUCCESS.value] * 2


@pytest.mark.usefixtures("postgres_only")
def test_a_connection_that_sat_idle_is_checked_before_use(driver: EngineDriver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define(CHAIN)
    driver.start("survives_dead_connections")
    end_pooled_connections()
    # Every pooled connection counts as idle; no retry may hide a dead one.
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    monkeypatch.setattr(transactions, "is_transient", lambda _exc: False)
    driver.run()
    assert driver.execution().state == State.SUCCESS
    assert [task.state for task in driver.tasks()] == [State.SUCCESS.value] * 2


@pytest.mark.usefixtures("postgres_only")
def test_a_claim_whose_connection_died_runs_again_on_a_fresh_one(driver: EngineDriver) -> None:
    # The claim is a statement of its own in autocommit, outside any unit of with_retries.
    driver.define(CHAIN.replace("std.noop", "bench.noop"))
    driver.root_ids.append(driver.engine.start_workflow("survives_dead_connections").id)
    (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
    driver.dispatcher.sent.clear()
    end_pooled_connections()
    executor.run_action(session(), driver.engine, driver.settings, run.action_execution_id)
    (first,) = driver.actions(driver.task("first"))
    assert (first.state, first.worker_id) == (State.SUCCESS.value, executor.worker_id())
    assert driver.task("second").state == State.RUNNING.value


class _Lost(Exception):
    connection_invalidated = True


def test_a_connection_lost_before_the_commit_is_retried_and_one_lost_during_it_is_not() -> None:
    # During the COMMIT the server may have committed already: running the unit again could do its
    # work twice (a second action run, a second execution), so that error goes to the caller.
    assert transactions.is_transient(_Lost("server closed the connection"))
    assert not transactions.is_transient(_Lost("server closed the connection"), committing=True)
    # A busy SQLite or a serialization failure at the COMMIT did not commit: retried as ever.
    assert transactions.is_transient(Exception("database is locked"), committing=True)


@pytest.mark.usefixtures("postgres_only")
def test_the_scheduler_and_the_sweeper_read_again_on_a_fresh_connection(
        driver: EngineDriver, caplog: pytest.LogCaptureFixture) -> None:
    # Their questions are plain reads outside any write unit; asked five times a second, their
    # connections never sit idle long enough to be checked: the read itself must survive.
    long_ago = datetime(2000, 1, 1)
    assert scheduler._due_work(long_ago) == (False, False)
    end_pooled_connections()
    assert scheduler._due_work(long_ago) == (False, False)
    end_pooled_connections()
    never = 10 ** 9
    assert Sweeper(session(), driver.dispatcher, heartbeat_seconds=never, lost_after_seconds=never,
                   continuation_after_seconds=never).sweep() == 0
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []

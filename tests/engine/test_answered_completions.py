"""A completion that was answered 200 stands: neither a timeout nor a pause can undo it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.engine import action_service
from app.engine.dispatch import CollectingDispatcher
from app.engine.errors import Conflict
from app.engine.service import Engine
from app.extensions import session
from app.models import ActionExecution, Timer, utc_now
from tests.engine.driver import EngineDriver, Script

WAITING = """
version: '2.0'
answered_completion_wf:
  tasks:
    ask:
      action: std.async_noop
      timeout: 30
      publish:
        answer: <% task().result %>
"""


def test_a_timeout_due_after_the_answered_completion_does_not_fail_the_task(driver: EngineDriver) -> None:
    driver.define(WAITING)
    driver.script = Script({"ask": [{"async": True}]})
    driver.start("answered_completion_wf")
    driver.settle()
    action = driver.action_of("ask")

    # The third party's completion is recorded and answered; its continuation is still queued when
    # the scheduler fires the task's timeout.
    driver.call(lambda engine: engine.complete_action(action.id, "SUCCESS", "yes"))
    timer_id = session().scalars(select(Timer.id).where(Timer.target_id == driver.task("ask").id)).one()
    session().commit()
    Engine(session(), CollectingDispatcher()).fire_timer(timer_id)
    driver.run()

    task = driver.task("ask")
    assert (task.state, task.published) == ("SUCCESS", {"answer": "yes"})
    assert driver.execution().state == "SUCCESS"


@pytest.mark.postgresql_only
def test_a_pause_read_before_a_callback_committed_cannot_overwrite_its_result(
        driver: EngineDriver, engine_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define(WAITING)
    driver.script = Script({"ask": [{"async": True}]})
    driver.start("answered_completion_wf")
    driver.settle()
    action_id = driver.action_of("ask").id
    session().commit()

    def callback_in_another_transaction() -> None:
        with engine_app.app_context():
            Engine(session(), CollectingDispatcher()).complete_action(action_id, "SUCCESS", "yes")

    original = action_service.check_transition
    interleaved: list[Any] = []

    def between_read_and_write(*args: Any, **kwargs: Any) -> None:
        # The pause has read the action RUNNING; the callback commits before the pause writes.
        if not interleaved:
            thread = threading.Thread(target=callback_in_another_transaction)
            thread.start()
            thread.join(30)
            interleaved.append(not thread.is_alive())
        original(*args, **kwargs)

    monkeypatch.setattr(action_service, "check_transition", between_read_and_write)
    with pytest.raises(Conflict, match="completed meanwhile"):
        driver.engine.complete_action(action_id, "PAUSED", None)

    assert interleaved == [True]
    action = driver.action_of("ask")
    assert (action.state, action.output) == ("SUCCESS", {"result": "yes"})


SYNC = """
version: '2.0'
sync_completion_wf:
  tasks:
    work:
      action: std.echo output=from-worker
      publish:
        got: <% task().result %>
"""


def test_a_sync_action_a_live_worker_runs_cannot_be_completed_through_the_api(driver: EngineDriver) -> None:
    driver.define(SYNC)
    driver.script = Script({"work": [{"async": True}]})  # the worker has it, and has not answered yet
    driver.start("sync_completion_wf")
    driver.settle()
    action_id = driver.action_of("work").id
    claim = update(ActionExecution).where(ActionExecution.id == action_id)
    session().execute(claim.values(worker_id="worker-host:4242", last_heartbeat=utc_now()))
    session().commit()

    with pytest.raises(Conflict, match="synchronous action that worker worker-host:4242 is running"):
        driver.engine.complete_action(action_id, "SUCCESS", "from-api")
    assert driver.action_of("work").state == "RUNNING"

    # Three missed beats later the worker counts as dead, and the API may complete the action.
    session().execute(claim.values(last_heartbeat=utc_now() - timedelta(seconds=16)))
    session().commit()
    driver.call(lambda engine: engine.complete_action(action_id, "SUCCESS", "from-api"))
    driver.run()
    assert driver.task("work").published == {"got": "from-api"}

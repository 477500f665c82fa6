"""A worker that dies while sending an async action's request: the third party's callback still works."""

from __future__ import annotations

import pytest

from app.actions import registry
from app.engine.claims import SENDING
from app.engine.dispatch import CollectingDispatcher
from app.engine.sweeper import Sweeper
from app.extensions import session
from app.workers import executor
from tests.engine.driver import EngineDriver, Script

WAITING = """
version: '2.0'
async_send_crash_wf:
  tasks:
    ask:
      action: std.async_noop
      publish:
        answer: <% task().result %>
"""


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs in the worker."""


def test_a_redelivered_or_swept_action_that_was_being_sent_waits_for_its_callback(
        driver: EngineDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define(WAITING)
    driver.script = Script({"ask": [{"async": True}]})
    driver.start("async_send_crash_wf")
    driver.settle()
    action_id = driver.action_of("ask").id
    sent: list[str] = []

    def send_then_die(self: object, context: object) -> None:
        sent.append(action_id)  # the third party now holds the request
        raise WorkerKilled()

    monkeypatch.setattr(registry.find("std.async_noop"), "run", send_then_die)
    with pytest.raises(WorkerKilled):
        executor.run_action(session(), driver.engine, driver.settings, action_id)
    session().rollback()

    # The broker redelivers the message, and the sweeper finds a worker that stopped beating.
    executor.run_action(session(), driver.engine, driver.settings, action_id)
    Sweeper(session(), CollectingDispatcher(), heartbeat_seconds=0).sweep()

    action = driver.action_of("ask")
    assert sent == [action_id]
    assert (action.state, action.worker_id) == ("RUNNING", SENDING)
    driver.call(lambda engine: engine.complete_action(action_id, "SUCCESS", "yes"))
    driver.run()
    assert driver.task("ask").published == {"answer": "yes"}
    assert driver.execution().state == "SUCCESS"

"""A change the engine committed is answered as done, whatever happens to the messages after it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.engine.dispatch import CollectingDispatcher, Message, RunAction
from app.engine.service import Engine
from app.engine.sweeper import Sweeper
from app.extensions import session
from app.models import ActionExecution, WorkflowExecution
from tests.engine.driver import EngineDriver

WORKFLOW = """
version: '2.0'
committed_answered_wf:
  tasks:
    only:
      action: std.echo output=done
"""


class RefusingBroker:
    """A dispatcher whose broker is down."""

    def __init__(self) -> None:
        self.attempts = 0

    def send(self, messages: list[Message]) -> None:
        self.attempts += 1
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_start_whose_message_is_lost_is_answered_and_the_sweeper_sends_it(driver: EngineDriver) -> None:
    driver.define(WORKFLOW)
    broker = RefusingBroker()

    execution = Engine(session(), broker).start_workflow("committed_answered_wf")
    driver.root_ids.append(execution.id)

    assert broker.attempts == 1
    action = session().scalars(select(ActionExecution).where(
        ActionExecution.workflow_execution_id == execution.id)).one()
    assert (execution.state, action.state, action.worker_id) == ("RUNNING", "RUNNING", None)
    resent = CollectingDispatcher()
    Sweeper(session(), resent, heartbeat_seconds=5, lost_after_seconds=0).sweep()
    assert action.id in [m.action_execution_id for m in resent.sent if isinstance(m, RunAction)]


def test_two_starts_with_one_id_give_the_same_execution_even_when_they_race(
        driver: EngineDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define(WORKFLOW)
    given = str(uuid.uuid4())
    first = driver.engine.start_workflow("committed_answered_wf", description="first", execution_id=given)
    driver.root_ids.append(first.id)
    session().expunge_all()

    # The second request checks before the first one's commit is visible to it, then inserts.
    real_get = session().get
    missed: list[Any] = []

    def get_missing_once(entity: Any, ident: Any, **kwargs: Any) -> Any:
        if entity is WorkflowExecution and ident == given and not missed:
            missed.append(ident)
            return None
        return real_get(entity, ident, **kwargs)

    monkeypatch.setattr(session(), "get", get_missing_once)
    second = driver.engine.start_workflow("committed_answered_wf", description="second", execution_id=given)

    assert missed == [given]
    assert (second.id, second.description) == (given, "first")
    count = session().scalars(select(WorkflowExecution.id).where(WorkflowExecution.id == given)).all()
    assert count == [given]

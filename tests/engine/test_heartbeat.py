"""A worker process's heartbeat keeps alive only the actions it holds the claim of."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db, session
from app.models import ActionExecution, utc_now
from app.workers.executor import worker_id
from app.workers.heartbeat import Heartbeat
from tests.engine.driver import EngineDriver

WORKFLOW = """
version: '2.0'
heartbeat_pair:
  tasks:
    mine:
      action: std.async_noop
    theirs:
      action: std.async_noop
"""


def test_a_duplicate_message_never_makes_another_workers_action_look_alive(driver: EngineDriver) -> None:
    driver.define(WORKFLOW)
    execution_id = driver.start("heartbeat_pair")
    actions = {row.task_name: row.id for row in session().scalars(
        select(ActionExecution).where(ActionExecution.workflow_execution_id == execution_id))}
    long_ago = utc_now() - timedelta(minutes=5)
    for name, holder in (("mine", worker_id()), ("theirs", "elsewhere:1")):
        session().execute(update(ActionExecution).where(ActionExecution.id == actions[name])
                          .values(worker_id=holder, last_heartbeat=long_ago))
    session().commit()
    heartbeat = Heartbeat(db.engine, 5.0)
    # This process was handed both (the second one's message twice): it runs only the first.
    heartbeat.add(actions["mine"])
    heartbeat.add(actions["theirs"])

    heartbeat.beat()

    beats = dict(session().execute(select(ActionExecution.task_name, ActionExecution.last_heartbeat).where(
        ActionExecution.id.in_(actions.values())).execution_options(populate_existing=True)).all())
    assert beats["mine"] is not None and beats["mine"] > long_ago + timedelta(minutes=4)
    assert beats["theirs"] == long_ago



@pytest.mark.usefixtures("driver")
def test_an_action_is_beaten_for_until_every_hold_is_let_go_of() -> None:
    # Its run holds it, and its result too while another thread of the process records it.
    heartbeat = Heartbeat(db.engine, 5.0)
    heartbeat.add("action")
    heartbeat.add("action")

    heartbeat.discard("action")
    assert heartbeat.running == {"action"}
    heartbeat.discard("action")
    assert heartbeat.running == frozenset()
    heartbeat.discard("action")
    assert heartbeat.running == frozenset()

"""A worker's result for an action of a task: the step's lock reads (on a server, locks) the action's
state with the workflow's and the task's rows, and the result is written with the step's other
writes, not by a compare-and-set of its own. A result for an action completed meanwhile is dropped
as the compare-and-set dropped it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.actions.base import Result
from app.engine.dispatch import RunAction
from app.engine.transactions import lock_for_result
from app.extensions import session
from app.models import ActionExecution
from app.workers import executor
from tests.engine.driver import EngineDriver

TWO_STEPS = """
version: '2.0'
locked_result:
  tasks:
    first:
      action: bench.noop
      timeout: 30
      publish: {got: <% task().result %>}
      on-success: [second]
    second:
      action: bench.noop
"""


def _claimed_first(driver: EngineDriver) -> tuple[str, executor.ActionRun]:
    driver.define(TWO_STEPS)
    driver.start("locked_result")
    # Taken by a worker (the test), not by the driver: its message leaves the driver's queue.
    message = driver._pending.popleft()
    assert isinstance(message, RunAction) and not driver.pending
    run = executor._claim_unclaimed(session(), message.action_execution_id)
    assert run is not None
    return message.action_execution_id, run


def test_the_result_is_written_with_the_step(driver: EngineDriver) -> None:
    action_id, run = _claimed_first(driver)

    driver.engine.on_action_result(action_id, Result(data={"answer": 42}), run=run)

    session().expire_all()
    action = session().get(ActionExecution, action_id)
    assert action is not None
    assert (action.state, action.output, action.accepted, action.processed) == (
        "SUCCESS", {"result": {"answer": 42}}, True, True)
    # Written by the step's write, which moves the time as the ORM's onupdate would.
    assert action.updated_at is not None and action.created_at is not None and action.updated_at >= action.created_at
    assert action.worker_id == executor.worker_id()
    assert driver.task("first").state == "SUCCESS"
    assert driver.task("first").published == {"got": {"answer": 42}}
    assert driver.task("second").state == "RUNNING"


def test_a_result_for_an_action_completed_meanwhile_is_dropped(driver: EngineDriver,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    action_id, run = _claimed_first(driver)
    # Its task timed out while the worker ran it (the timer fires now): the action ended with it.
    driver.run()
    session().expire_all()
    before = session().scalars(select(ActionExecution).where(ActionExecution.id == action_id)).one()
    state, output, updated_at = before.state, before.output, before.updated_at
    session().rollback()

    with caplog.at_level(logging.WARNING, logger="app.engine.action_service"):
        driver.engine.on_action_result(action_id, Result(data="late"), run=run)

    session().expire_all()
    after = session().get(ActionExecution, action_id)
    assert after is not None and state != "RUNNING"
    assert (after.state, after.output, after.updated_at) == (state, output, updated_at)
    assert driver.execution().state == "ERROR" and driver.task("first").state == "ERROR"
    assert any("already completed" in record.getMessage() for record in caplog.records)


def test_the_lock_reads_the_actions_state_only_for_an_action_of_that_task(driver: EngineDriver) -> None:
    action_id, run = _claimed_first(driver)
    assert run.workflow_execution_id is not None and run.task_execution_id is not None

    locked = lock_for_result(session(), run.workflow_execution_id, run.task_execution_id, action_id)
    other_task = lock_for_result(session(), run.workflow_execution_id, "no such task", action_id)
    other_action = lock_for_result(session(), run.workflow_execution_id, run.task_execution_id, "no such action")
    session().rollback()

    assert locked is not None
    workflow, task, action_state = locked
    assert (workflow.id, task.id, action_state) == (run.workflow_execution_id, run.task_execution_id,
                                                     ("RUNNING", False, False))
    assert other_task is None and other_action is None

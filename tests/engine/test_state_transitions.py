"""Every state write passes the transition tables: the engine's own passes through each feature are
allowed (the rehearsals run them all, each watched by ``every_state_write_is_checked``), a write past
the gate is seen, and an illegal one is refused with the ids and written nowhere."""

from __future__ import annotations

import logging

import pytest

from app.engine.errors import IllegalTransition
from app.engine.runtime import Step
from app.engine.store import SqlStore
from app.engine.transactions import lock_workflow, with_retries
from app.extensions import session
from tests.engine.driver import EngineDriver, Script
from tests.engine.state_writes import StateWrites

WORKFLOW = """
version: '2.0'
transitions_wf:
  tasks:
    first:
      action: std.noop
      on-success: [second]
    second:
      action: std.noop
"""


def test_a_state_written_past_the_gate_is_seen(driver: EngineDriver,
                                                every_state_write_is_checked: StateWrites) -> None:
    driver.define(WORKFLOW)
    driver.script = Script({"first": [{"async": True}]})
    driver.start("transitions_wf")
    driver.settle()
    assert every_state_write_is_checked.unchecked == []
    task = driver.task("first")

    def write_past_the_gate() -> None:
        task.state = "SUCCESS"
        session().flush()

    with_retries(session(), write_past_the_gate)
    assert every_state_write_is_checked.unchecked == [f"TaskExecution {task.id}: SUCCESS"]
    every_state_write_is_checked.unchecked.clear()


def test_an_illegal_transition_rolls_back_its_transaction_and_is_logged_with_the_ids(
        driver: EngineDriver, caplog: pytest.LogCaptureFixture, every_state_write_is_checked: StateWrites) -> None:
    driver.define(WORKFLOW.replace("transitions_wf", "illegal_wf"))
    execution_id = driver.start("illegal_wf")
    driver.run()
    assert driver.execution().state == "SUCCESS"
    first = driver.task("first")

    def run_the_followed_task_again() -> None:
        wf_ex = lock_workflow(session(), execution_id)
        assert wf_ex is not None
        step = Step(SqlStore(session()), wf_ex)
        wf_ex.description = "written first, rolled back with the rest"
        step.set_state(session().get(type(first), first.id), "RUNNING")

    with caplog.at_level(logging.ERROR, logger="app.engine.states"), pytest.raises(IllegalTransition):
        with_retries(session(), run_the_followed_task_again)
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().endswith(f"first {first.id}: SUCCESS -> RUNNING")
    assert (getattr(record, "task_id"), getattr(record, "execution_id")) == (first.id, execution_id)
    assert driver.execution().description == "" and driver.task("first").state == "SUCCESS"
    assert every_state_write_is_checked.refused == [record.getMessage()]
    every_state_write_is_checked.refused.clear()


CANCELLED_THEN_FAILED = """
version: '2.0'
cancelled_then_failed:
  tasks:
    ask:
      action: std.noop
      publish:
        unusable: <% $.missing.field %>
"""


def test_a_task_failing_after_its_workflow_was_cancelled_fails_alone(driver: EngineDriver) -> None:
    # As in Mistral: a cancelled workflow is not failed afterwards (CANCELLED -> ERROR is no transition).
    driver.define(CANCELLED_THEN_FAILED)
    driver.script = Script({"ask": [{"async": True}]})
    driver.start("cancelled_then_failed")
    driver.settle()
    action_id = driver.action_of("ask").id
    driver.call(lambda engine: engine.update_execution(driver.root_id, "CANCELLED", None, None, "enough"))
    driver.call(lambda engine: engine.complete_action(action_id, "SUCCESS", "late"))
    driver.run()

    execution = driver.execution()
    assert (execution.state, execution.state_info) == ("CANCELLED", "enough")
    task = driver.task("ask")
    assert task.state == "ERROR" and "Can not evaluate YAQL expression" in str(task.state_info)

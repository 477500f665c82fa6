"""Each state change of an execution (INFO) and of a task (DEBUG) is one log line with its ids."""

from __future__ import annotations

import logging

import pytest

from tests.engine.driver import EngineDriver, Script

WORKFLOW = """
version: '2.0'
state_log_wf:
  tasks:
    first:
      action: std.noop
      on-success: [second]
    second:
      action: std.fail
"""


def test_state_changes_are_logged_after_commit_with_their_ids(driver: EngineDriver,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="app.engine.states")
    driver.define(WORKFLOW)
    driver.script = Script({"first": [None], "second": [{"error": "broken"}]})
    execution_id = driver.start("state_log_wf")
    driver.run()

    lines = [r for r in caplog.records if r.name == "app.engine.states"
             and getattr(r, "execution_id", None) == execution_id]
    executions = [(r.previous_state, r.state) for r in lines if r.levelno == logging.INFO]
    assert executions == [(None, "RUNNING"), ("RUNNING", "ERROR")]
    tasks = [(r.task_name, r.previous_state, r.state) for r in lines if r.levelno == logging.DEBUG]
    assert ("first", "RUNNING", "SUCCESS") in tasks and ("second", "RUNNING", "ERROR") in tasks
    assert all(r.workflow_name == "state_log_wf" for r in lines)


def test_action_state_changes_are_logged_with_their_task_and_names(driver: EngineDriver,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="app.engine.states")
    driver.define(WORKFLOW.replace("state_log_wf", "state_log_actions"))
    driver.script = Script({"first": [None], "second": [{"error": "broken"}]})
    execution_id = driver.start("state_log_actions")
    driver.run()

    actions = [r for r in caplog.records if r.name == "app.engine.states"
               and getattr(r, "execution_id", None) == execution_id and hasattr(r, "action_execution_id")]
    assert [(r.task_name, r.action_name, r.previous_state, r.state) for r in actions] == [
        ("first", "std.noop", None, "RUNNING"), ("first", "std.noop", "RUNNING", "SUCCESS"),
        ("second", "std.fail", None, "RUNNING"), ("second", "std.fail", "RUNNING", "ERROR"),
    ]
    tasks = {task.name: task.id for task in driver.tasks(execution_id)}
    assert [r.task_id for r in actions] == [tasks["first"]] * 2 + [tasks["second"]] * 2
    assert all(r.levelno == logging.DEBUG and r.workflow_name == "state_log_actions" for r in actions)
    assert len({r.action_execution_id for r in actions}) == 2


"""StateChanges, the one gate of every state write: checked against the row's table, then recorded."""

from __future__ import annotations

import logging

import pytest

from app.engine.errors import IllegalTransition
from app.engine.state_log import StateChanges
from app.models import ActionExecution, TaskExecution, WorkflowExecution


def workflow(state: str = "RUNNING") -> WorkflowExecution:
    return WorkflowExecution(id="wf-1", workflow_name="wf", state=state, state_info=None, params={})


def task(state: str = "RUNNING", processed: bool = False) -> TaskExecution:
    return TaskExecution(id="task-1", name="t", workflow_execution_id="wf-1", workflow_name="wf",
                         state=state, processed=processed)


def action(state: str = "RUNNING") -> ActionExecution:
    return ActionExecution(id="action-1", name="std.noop", task_execution_id="task-1", workflow_execution_id="wf-1",
                           workflow_name="wf", task_name="t", state=state)


def test_an_allowed_transition_is_written_and_recorded() -> None:
    changes = StateChanges()
    row = workflow()
    changes.transition(row, "PAUSED", "held")
    assert (row.state, row.state_info) == ("PAUSED", "held")
    (change,) = changes.settle()
    assert (change.kind, change.previous, change.state) == ("workflow", "RUNNING", "PAUSED")


def test_an_illegal_transition_is_logged_with_the_ids_raised_and_not_written(
        caplog: pytest.LogCaptureFixture) -> None:
    changes = StateChanges()
    row = task("SUCCESS", processed=True)
    with caplog.at_level(logging.ERROR, logger="app.engine.states"), pytest.raises(IllegalTransition) as raised:
        changes.transition(row, "RUNNING", "again")
    assert (row.state, row.state_info) == ("SUCCESS", None)
    assert changes.settle() == []
    assert str(raised.value) == "illegal state transition of task wf.t task-1: SUCCESS -> RUNNING"
    assert raised.value.fields["task_id"] == "task-1" and raised.value.fields["execution_id"] == "wf-1"
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and getattr(record, "task_id") == "task-1"
    assert getattr(record, "previous_state") == "SUCCESS" and getattr(record, "state") == "RUNNING"


def test_a_task_completion_is_revised_only_until_the_engine_followed_it() -> None:
    changes = StateChanges()
    settling = task("SUCCESS", processed=False)
    changes.transition(settling, "ERROR", "Failed by 'fail-on' policy")
    assert settling.state == "ERROR"
    with pytest.raises(IllegalTransition):
        changes.transition(task("SUCCESS", processed=True), "ERROR")


def test_a_new_row_is_checked_for_its_first_state() -> None:
    changes = StateChanges()
    changes.created(action("IDLE"))
    with pytest.raises(IllegalTransition, match="new -> SUCCESS"):
        changes.created(workflow("SUCCESS"))
    assert [(c.previous, c.state) for c in changes.settle()] == [(None, "IDLE")]


def test_a_compare_and_set_write_is_checked_as_it_is_recorded() -> None:
    changes = StateChanges()
    row = action("PAUSED")
    changes.changed_elsewhere(row, "PAUSED", "SUCCESS")
    with pytest.raises(IllegalTransition, match="action std.noop action-1: SUCCESS -> RUNNING"):
        changes.changed_elsewhere(row, "SUCCESS", "RUNNING")
    assert [(c.previous, c.state) for c in changes.settle()] == [("PAUSED", "SUCCESS")]

"""A row the step adds is pending in the session as ``session.add`` leaves it, its related rows
included when it holds any; a row written at the unit's end leaves the session; and the rows of a
write that failed are still the session's to write."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, exc, inspect
from sqlalchemy.orm.exc import StaleDataError

from app.engine import step_writes
from app.extensions import session
from app.models import ActionExecution, TaskExecution, WorkflowExecution, built, new_id
from tests.engine.driver import EngineDriver

WAITING = """
version: '2.0'
adds:
  tasks:
    waits:
      action: bench.noop
"""


def _task(workflow_id: str) -> TaskExecution:
    return built(TaskExecution, id=new_id(), workflow_execution_id=workflow_id, name="waits", type="ACTION",
                 workflow_name="adds", workflow_namespace="", state="RUNNING", in_context={}, published={},
                 result=[], runtime_context={}, project_id="<default-project>")


def _started(driver: EngineDriver) -> str:
    driver.define(WAITING)
    execution_id = driver.start("adds")
    session().rollback()
    return execution_id


def test_a_row_holding_nothing_related_is_pending_and_written(driver: EngineDriver) -> None:
    execution_id = _started(driver)
    task = _task(execution_id)
    step_writes.add(session(), task)
    assert inspect(task).pending and task in session().new
    step_writes.write(session())
    # Written, and let go of: detached with every column as written.
    assert inspect(task).detached and not inspect(task).unloaded.intersection(inspect(task).mapper.columns.keys())
    assert session().get(TaskExecution, task.id) is not task
    assert session().get(TaskExecution, task.id).name == "waits"
    session().rollback()


def test_a_row_holding_a_related_row_brings_it_along(driver: EngineDriver) -> None:
    execution_id = _started(driver)
    task = _task(execution_id)
    action = built(ActionExecution, id=new_id(), task_execution_id=task.id, workflow_execution_id=execution_id,
                   name="bench.noop", state="RUNNING", input={}, params={}, is_sync=True, accepted=False)
    action.task_execution = task
    step_writes.add(session(), action)
    # As session.add cascades: the task it holds is added with it.
    assert inspect(task).pending and inspect(action).pending
    session().rollback()


def test_a_row_added_by_a_rolled_back_attempt_is_let_go(driver: EngineDriver) -> None:
    execution_id = _started(driver)
    task = _task(execution_id)
    step_writes.add(session(), task)
    session().rollback()
    # As the ORM leaves a row added in a rolled-back transaction: transient, in no session.
    assert inspect(task).transient
    assert task not in session()


def test_rows_of_a_statement_that_failed_are_not_taken_for_written(driver: EngineDriver) -> None:
    # On PostgreSQL the write is one statement; on SQLite the workflow's UPDATE runs, then the task's
    # INSERT fails. Either way the new task is still the session's to write.
    execution_id = _started(driver)
    workflow = session().get(WorkflowExecution, execution_id)
    assert workflow is not None
    workflow.description = "changed"
    orphan = _task("no such workflow")
    step_writes.add(session(), orphan)
    with pytest.raises(exc.IntegrityError):
        step_writes.write(session(), keep=True)
    assert inspect(orphan).pending and orphan in session().new
    session().rollback()


def test_a_workflow_gone_from_under_a_write_of_several_statements_fails_it(driver: EngineDriver) -> None:
    gone, kept = _started(driver), driver.start("adds")
    session().rollback()
    workflow = session().get(WorkflowExecution, gone)
    assert workflow is not None
    workflow.description = "never written"
    connection = session().connection()
    tasks, workflows = TaskExecution.__table__, WorkflowExecution.__table__
    connection.execute(delete(ActionExecution.__table__).where(ActionExecution.workflow_execution_id == gone))
    connection.execute(delete(tasks).where(tasks.c.workflow_execution_id == gone))
    connection.execute(delete(workflows).where(workflows.c.id == gone))
    task = _task(kept)
    step_writes.add(session(), task)
    with pytest.raises(StaleDataError):
        step_writes.write(session(), keep=True)
    assert inspect(task).pending and session().is_modified(workflow)
    session().rollback()


FOUR_BRANCHES = """
version: '2.0'
write_order:
  tasks:
    a: {action: bench.noop}
    b: {action: bench.noop}
    c: {action: bench.noop}
    d: {action: bench.noop}
"""


def test_changed_tasks_are_written_grouped_by_what_changed_then_by_ids(driver: EngineDriver) -> None:
    driver.define(FOUR_BRANCHES)
    execution_id = driver.start("write_order")
    tasks = sorted(session().query(TaskExecution).filter_by(workflow_execution_id=execution_id).all(),
                   key=lambda task: task.id)
    assert len(tasks) == 4
    # By ids the two shapes alternate: state only, then state and state_info.
    for index, task in enumerate(tasks):
        task.state = "SUCCESS"
        if index % 2:
            task.state_info = "changed too"
    ordered = step_writes.in_write_order(list(reversed(tasks)))
    assert ordered == [tasks[0], tasks[2], tasks[1], tasks[3]]
    session().rollback()

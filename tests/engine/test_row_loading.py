"""The rows a step's lock reads are the session's loaded rows, as the ORM's own load would leave them:
columns left out load on first use, a row the session holds is refreshed, and what the step changes
of them is written."""

from __future__ import annotations

from sqlalchemy import inspect

from app.engine.transactions import lock_workflow, lock_workflow_with_task, with_retries
from app.extensions import db, session
from app.models import TaskExecution, WorkflowExecution
from tests.engine.driver import EngineDriver

WAITING = """
version: '2.0'
row_loading:
  input:
    - greeting: hello
  tasks:
    waits:
      action: bench.noop
      publish: {done: yes}
"""


def _unloaded_columns(row: object) -> set[str]:
    state = inspect(row)
    return {key for key in state.unloaded if key in state.mapper.columns}


def _started(driver: EngineDriver) -> tuple[str, str]:
    driver.define(WAITING)
    execution_id = driver.start("row_loading")
    task = session().query(TaskExecution).filter_by(workflow_execution_id=execution_id).one()
    task_id = task.id
    session().rollback()
    session().expunge_all()
    return execution_id, task_id


def test_the_lock_leaves_the_spec_and_the_asked_data_to_load_on_first_use(driver: EngineDriver) -> None:
    execution_id, task_id = _started(driver)
    workflow, task = lock_workflow_with_task(session(), execution_id, task_id, without_data=True)
    assert workflow is not None and task is not None
    assert _unloaded_columns(workflow) == {"spec", "input", "context", "output"}
    assert _unloaded_columns(task) == {"in_context", "published", "result"}
    assert inspect(workflow).persistent and not session().is_modified(workflow)
    # Loaded when read, from the database, in this transaction.
    assert workflow.input == {"greeting": "hello"}
    assert workflow.spec["tasks"]["waits"]["action"] == "bench.noop"
    assert task.result == []
    assert _unloaded_columns(workflow) == {"context", "output"}
    session().rollback()


def test_a_row_the_session_holds_is_the_one_refreshed(driver: EngineDriver) -> None:
    execution_id, _ = _started(driver)
    held = session().get(WorkflowExecution, execution_id)
    assert held is not None
    # A change the session holds and did not flush: the lock reads the row as the database has it
    # (as the ORM's load with populate_existing does; with autoflush on, the change would be written
    # before the read).
    with session().no_autoflush:
        held.description = "never written"
        locked = lock_workflow(session(), execution_id)
    assert locked is held
    assert held.description == ""
    assert not session().is_modified(held)
    session().rollback()


def test_what_a_step_changes_of_a_locked_row_is_written(driver: EngineDriver) -> None:
    execution_id, task_id = _started(driver)

    def change() -> None:
        workflow, task = lock_workflow_with_task(session(), execution_id, task_id)
        assert workflow is not None and task is not None
        workflow.description = "written"
        task.state_info = "noted"

    with_retries(session(), change)
    session().expunge_all()
    with db.engine.connect() as reader:
        description = reader.scalar(WorkflowExecution.__table__.select()
                                    .with_only_columns(WorkflowExecution.__table__.c.description)
                                    .where(WorkflowExecution.__table__.c.id == execution_id))
        state_info = reader.scalar(TaskExecution.__table__.select()
                                   .with_only_columns(TaskExecution.__table__.c.state_info)
                                   .where(TaskExecution.__table__.c.id == task_id))
    assert (description, state_info) == ("written", "noted")

"""The rows a step's lock reads are the session's loaded rows, as the ORM's own load would leave them:
columns left out load on first use, a row the session holds is refreshed, and what the step changes
of them is written (a workflow's changes by an UPDATE of their own, ``step_writes``)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from app.engine import step_writes
from app.engine.row_loading import RowLoader
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


def _stored(execution_id: str) -> tuple[str, object]:
    table = WorkflowExecution.__table__
    with db.engine.connect() as reader:
        row = reader.execute(select(table.c.description, table.c.updated_at).where(table.c.id == execution_id)).one()
    return row[0], row[1]


def test_a_changed_workflow_is_written_with_its_update_time_and_its_spec_left_unloaded(
        driver: EngineDriver) -> None:
    execution_id, _ = _started(driver)
    _, updated_before = _stored(execution_id)

    def change() -> None:
        workflow = lock_workflow(session(), execution_id)
        assert workflow is not None
        workflow.description = "written by the step"
        step_writes.write(session())
        # Written: nothing left for the flush, the spec still to load on first use.
        assert not session().is_modified(workflow)
        assert _unloaded_columns(workflow) == {"spec"}

    with step_writes.writing(session()):
        with_retries(session(), change)
    description, updated_after = _stored(execution_id)
    assert description == "written by the step"
    assert updated_before is None or updated_after > updated_before


def test_a_task_loaded_without_its_data_is_written_by_an_update_of_what_changed(driver: EngineDriver) -> None:
    # One with-items item's step locks its task without its data; what it changes of the task is
    # written without the ORM's flush, and the data stays to load on first use.
    execution_id, task_id = _started(driver)
    sent: list[str] = []

    def change() -> None:
        _, task = lock_workflow_with_task(session(), execution_id, task_id, without_data=True)
        assert task is not None
        task.state_info = "written by the step"
        before = task.updated_at
        step_writes.write(session())
        assert not session().is_modified(task)
        assert _unloaded_columns(task) == {"in_context", "published", "result"}
        assert before is None or task.updated_at > before

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with step_writes.writing(session()):
            with_retries(session(), change)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    (update,) = [statement for statement in sent if statement.startswith("UPDATE task_executions")]
    assert update.startswith('UPDATE task_executions SET "state_info" = ') and "in_context" not in update
    session().expire_all()
    stored = session().get(TaskExecution, task_id)
    assert stored is not None and stored.state_info == "written by the step" and stored.in_context is not None
    session().rollback()


def test_a_workflow_gone_from_under_its_update_fails_as_the_orm_flush_fails(driver: EngineDriver) -> None:
    execution_id, _ = _started(driver)
    workflow = lock_workflow(session(), execution_id)
    assert workflow is not None
    workflow.description = "never written"
    # Behind the session's back (a Core statement), as another transaction's delete would be.
    connection = session().connection()
    tasks, workflows = TaskExecution.__table__, WorkflowExecution.__table__
    connection.execute(delete(tasks).where(tasks.c.workflow_execution_id == execution_id))
    connection.execute(delete(workflows).where(workflows.c.id == execution_id))
    with pytest.raises(StaleDataError):
        step_writes.write(session())
    session().rollback()


def test_a_plain_load_keeps_what_a_held_row_changed_and_fills_what_it_had_not_loaded(driver: EngineDriver) -> None:
    execution_id, task_id = _started(driver)
    loader = RowLoader(TaskExecution)
    held = session().get(TaskExecution, task_id)
    assert held is not None
    session().expire(held, ["published"])
    with session().no_autoflush:
        held.state_info = "held, not flushed"
        found = session().connection().execute(
            select(*loader.columns).where(TaskExecution.__table__.c.id == task_id)).one()
        # As the ORM's load without populate_existing (a join's task, an inline step's tasks).
        assert loader.load(session(), found, refresh=False) is held
    assert held.state_info == "held, not flushed" and session().is_modified(held)
    assert "published" not in inspect(held).unloaded and held.published == {}
    session().rollback()

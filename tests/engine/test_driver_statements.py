"""The hot path's statements handed to the driver as text return what SQLAlchemy's own execution of
them returns (JSON decoded, times and booleans converted, on both databases), bind the values the
statements hold themselves, and fail as any execution fails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import String, bindparam, column, event, exc, insert, select, text
from sqlalchemy.engine import Connection

from app.engine import store, transactions
from app.engine.dispatch import RunAction
from app.engine.driver_statements import DriverStatement, _numbered, run_text
from app.engine.runtime import END_QUESTIONS
from app.extensions import db, session
from app.models import ActionExecution, TaskExecution, new_id
from app.workers import executor
from tests.engine.driver import EngineDriver

FAN_IN = """
version: '2.0'
driver_statements:
  input:
    - greeting: "grüße"
  tasks:
    left:
      action: std.echo
      input:
        output: {nested: {list: [1, 2.5, null, true]}, text: "ünïcode"}
      publish: {left: <% task().result %>}
      on-success: [both]
    right:
      action: std.noop
      publish: {right: null, flag: false}
      on-success: [both]
    both:
      join: all
      action: bench.noop
"""
CLAIMED = """
version: '2.0'
driver_statements_claim:
  tasks:
    only:
      action: bench.fail
      input:
        message: "ünïcode"
"""


def _same_rows(connection: Connection, statement: DriverStatement, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    through_driver = statement.rows(connection, values)
    through_sqlalchemy = [tuple(row) for row in connection.execute(statement.statement, values)]
    assert through_driver == through_sqlalchemy
    return through_driver


def _fan_in_done(driver: EngineDriver) -> tuple[str, TaskExecution, TaskExecution]:
    driver.define(FAN_IN)
    execution_id = driver.start("driver_statements")
    driver.run()
    assert driver.execution().state == "SUCCESS"
    join, left = driver.task("both"), driver.task("left")
    session().commit()
    return execution_id, left, join


def test_the_lock_and_the_join_task_read_what_sqlalchemy_reads(driver: EngineDriver) -> None:
    execution_id, left, join = _fan_in_done(driver)
    connection = session().connection()
    for without_data in (False, True):
        (workflow_row,) = _same_rows(connection, transactions._LOCK_WORKFLOW[without_data],
                                     {"workflow_id": execution_id})
        (locked,) = _same_rows(connection, transactions._LOCK_WORKFLOW_WITH_TASK[without_data],
                               {"workflow_id": execution_id, "task_id": left.id})
        assert locked[:len(workflow_row)] == workflow_row
    (found,) = _same_rows(connection, store._JOIN_TASK, {"unique_key": join.unique_key})
    # Decoded JSON, times and booleans, as the rows the session holds have them.
    loaded = dict(zip([column.key for column in transactions.TASK_ROWS.columns], found, strict=True))
    assert loaded["in_context"]["left"] == {"nested": {"list": [1, 2.5, None, True]}, "text": "ünïcode"}
    assert loaded["in_context"]["flag"] is False and loaded["in_context"]["right"] is None
    assert loaded["created_at"] == join.created_at and loaded["processed"] is join.processed is True
    assert _same_rows(connection, store._JOIN_TASK, {"unique_key": "no such join"}) == []
    session().rollback()


def test_the_end_question_reads_what_sqlalchemy_reads(driver: EngineDriver) -> None:
    execution_id, _, _ = _fan_in_done(driver)
    running_id = driver.start("driver_statements")
    session().commit()
    connection = session().connection()
    statement = store._answers_and_ends_statement(END_QUESTIONS, 2)
    # Its branches still run: the answers' row alone.
    (answers,) = _same_rows(connection, statement, {"workflow_id": running_id})
    assert answers[0] == 0 and bool(answers[4])
    # Ended: no task runs, and the last task's row comes with the answers.
    answers, *ends = _same_rows(connection, statement, {"workflow_id": execution_id})
    assert not any(answers[4:])
    assert [end[0] for end in ends] == [1]
    session().rollback()


def test_the_claim_binds_its_own_values_and_returns_what_running_the_action_needs(driver: EngineDriver) -> None:
    driver.define(CLAIMED)
    driver.root_ids.append(driver.engine.start_workflow("driver_statements_claim").id)
    (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
    driver.dispatcher.sent.clear()
    parameters = executor._claim_parameters(run.action_execution_id)

    claimed = executor._CLAIM_UNCLAIMED.first(session().connection(), parameters)
    session().commit()

    assert claimed is not None
    # Its RETURNING, converted as SQLAlchemy converts the same columns of the same row.
    read = session().connection().execute(
        select(*executor._RUN_COLUMNS).where(ActionExecution.id == run.action_execution_id)).one()
    assert claimed == tuple(read)
    assert claimed[2] == {"message": "ünïcode"} and claimed[8] is True
    # The state it compares with is its own value (the same parameters find the claim itself, as a
    # claim run again after a lost connection does), and a claimed action is not claimed again.
    assert executor._CLAIM_UNCLAIMED.first(session().connection(), parameters) == claimed
    assert executor._CLAIM_UNCLAIMED.first(session().connection(),
                                           executor._claim_parameters(run.action_execution_id)) is None
    session().rollback()


def test_listeners_see_the_statements_and_a_failing_one_fails_as_any_execution_does(driver: EngineDriver) -> None:
    _, _, join = _fan_in_done(driver)
    join_id = join.id
    wrong = DriverStatement(text("SELECT no_such_column FROM task_executions").columns(column("x", String)))
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with pytest.raises(exc.DBAPIError, match="no_such_column"):
            wrong.rows(session().connection(), {})
        session().rollback()
        placeholder = "?" if db.engine.dialect.name == "sqlite" else "%s"
        assert run_text(session().connection(), f"UPDATE task_executions SET name = name WHERE id = {placeholder}",
                        [join_id]) == 1
        session().rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == ["SELECT", "UPDATE"]


def test_statements_it_cannot_compile_once_are_refused(driver: EngineDriver) -> None:
    expanding = DriverStatement(select(TaskExecution.id).where(TaskExecution.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        expanding.rows(session().connection(), {"ids": ["a"]})
    # A task's insert without its defaults: they are computed at each execution.
    defaults = DriverStatement(insert(TaskExecution).values(id=bindparam("id"), name="t"))
    with pytest.raises(ValueError, match="defaults"):
        defaults.rows(session().connection(), {"id": new_id()})
    session().rollback()


@pytest.mark.sqlite_only
def test_an_error_while_rows_are_fetched_fails_as_any_execution_does(driver: EngineDriver) -> None:
    # SQLite reads the rows as they are fetched: an error there comes after the statement started.
    _fan_in_done(driver)
    calls = []

    def fails_on_the_second_row(value: str) -> str:
        calls.append(value)
        if len(calls) > 1:
            raise ValueError("the second row")
        return value

    connection = session().connection()
    connection.connection.dbapi_connection.create_function("fails_on_the_second_row", 1, fails_on_the_second_row)
    statement = DriverStatement(text("SELECT fails_on_the_second_row(id) FROM task_executions")
                                .columns(column("id", String)))
    with pytest.raises(exc.OperationalError):
        statement.rows(connection, {})
    session().rollback()


def test_positional_placeholders_are_numbered_for_postgresql_in_order() -> None:
    assert _numbered('INSERT INTO t ("a", "b") VALUES (%s, %s), (%s, %s)') == (
        'INSERT INTO t ("a", "b") VALUES ($1, $2), ($3, $4)')
    assert _numbered("WITH s0 AS (UPDATE t SET a = %s WHERE id = %s RETURNING 1) SELECT 1") == (
        "WITH s0 AS (UPDATE t SET a = $1 WHERE id = $2 RETURNING 1) SELECT 1")
    assert _numbered("SELECT 1") == "SELECT 1"

"""What one step of a chain of executor actions asks of the database: the budget of the hot path.

A step is the worker's claim (a transaction of its own, the crash rule) and then the result with the
engine's continuation (another): at most five statements together, BEGIN and COMMIT not counted (on
PostgreSQL three: the writes go as the parts of one, and a changed task is a part of its own). The
last step also ends the workflow: one question about its tasks that brings what its last tasks
published, one write of the workflow. An item of a with-items task that is not its last, a branch
of a fan-in and a step of glue tasks completed inline have budgets of their own below. A statement
added to the path fails here, by name, before it shows in the benchmark.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, event, select

from app.engine import step_writes
from app.engine.dispatch import RunAction, RunInline
from app.engine.transactions import first_row_alone
from app.extensions import db, session
from app.models import ActionExecution
from app.workers import executor
from tests.engine.driver import EngineDriver
from tests.engine.state_writes import StateWrites

LENGTH = 4
CHAIN = "\n".join(
    ["version: '2.0'", "statements_chain:", "  tasks:"]
    + [line for index in range(1, LENGTH + 1) for line in (
        f"    t{index}:", "      action: bench.noop", "      publish: {last: <% task().name %>}",
        *([f"      on-success: t{index + 1}"] if index < LENGTH else []))]
) + "\n"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def kind(statement: str) -> str:
    """``VERB table``: what a statement does to which table, the same on every database."""
    words = statement.split()
    verb = words[0].upper()
    if "UNION ALL" in statement.upper():
        return "SELECT answers and ends"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    if words[1].upper() == "EXISTS":
        return "SELECT EXISTS"
    return f"{verb} {words[[word.upper() for word in words].index('FROM') + 1]}"


LOCK_AND_COMPLETE = re.compile(
    r"WITH locked AS \s*\((?P<lock>.*)\),\s*completed AS \s*\((?P<result>UPDATE .*?)\)\s*SELECT ", re.DOTALL)


def is_combined(statement: str) -> bool:
    return statement.startswith("WITH s0 AS (") or LOCK_AND_COMPLETE.match(statement) is not None


def parts(statement: str) -> list[str]:
    """The statements sent as one on PostgreSQL, each as it is sent alone on SQLite: a write (``WITH
    s0 AS (...), s1 AS (...) SELECT`` the rows each changed), and the workflow's lock with an
    action's result (``WITH locked AS (...), completed AS (...) SELECT``). Any other as it is."""
    combined = LOCK_AND_COMPLETE.match(statement)
    if combined is not None:
        return [combined["lock"], combined["result"]]
    if not statement.startswith("WITH s0 AS ("):
        return [statement]
    body = statement[:statement.rindex(" SELECT (SELECT count(*) FROM s0)")]
    return [part.removesuffix(" RETURNING 1)") for part in re.split(r"(?:WITH |, )s\d+ AS \(", body)[1:]]


@contextmanager
def statements(as_sent: bool = False) -> Iterator[list[str]]:
    """The kinds of the statements sent while the block runs, in order; the parts of one sent as a
    whole each count, unless ``as_sent``."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            return
        if as_sent and is_combined(statement):
            sent.append("WITH " + ", ".join(kind(part) for part in parts(statement)))
            return
        sent.extend(kind(part) for part in parts(statement))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def run_chain(driver: EngineDriver) -> list[list[str]]:
    """Run the chain as workers would (claim, run, result and continuation); the statements per step."""
    return run_workflow(driver, CHAIN, "statements_chain")


def run_workflow(driver: EngineDriver, definition: str, name: str,
                 wf_input: dict[str, Any] | None = None, as_sent: bool = False) -> list[list[str]]:
    """Run each action the workflow sends, one at a time, as workers would; the statements per step
    (``as_sent``: see :func:`statements`)."""
    driver.define(definition)
    execution = driver.engine.start_workflow(name, wf_input=wf_input)
    driver.root_ids.append(execution.id)
    sent = driver.dispatcher.sent
    steps = []
    while runs := [message for message in sent if isinstance(message, RunAction)]:
        sent.clear()
        for run in runs:
            with statements(as_sent) as step:
                executor.run_action(session(), driver.engine, driver.settings, run.action_execution_id)
            steps.append(step)
    sent.clear()
    return steps


def on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_a_chain_step_costs_at_most_five_statements(driver: EngineDriver) -> None:
    steps = run_chain(driver)

    assert driver.execution().state == "SUCCESS"
    assert driver.execution().output == {"last": f"t{LENGTH}"}
    assert len(steps) == LENGTH
    # On PostgreSQL the writes go as parts of one statement (see the next test), and the task that
    # ended is an UPDATE of what changed; on SQLite one upsert writes it with the one that follows.
    task_writes = ["UPDATE task_executions", "INSERT task_executions"] if on_postgresql() \
        else ["INSERT task_executions"]
    for step in steps[:-1]:
        assert step == [
            "UPDATE action_executions",     # the claim, RETURNING what running the action needs
            "SELECT workflow_executions",   # the workflow's lock, its task loaded with it
            "UPDATE action_executions",     # the result, a compare-and-set
            *task_writes,                   # the task that ended and the one that follows
            "INSERT action_executions",     # the action that follows
        ]


@pytest.mark.usefixtures("postgres_only")
def test_on_postgresql_a_step_is_three_statements(driver: EngineDriver) -> None:
    # Each statement is a round trip and the driver's work of an execution: the workflow's lock and
    # the action's result go together, and so do the task upsert and the new action. (The last
    # step's task is written before the end question reads.)
    *steps, last = run_workflow(driver, CHAIN, "statements_chain", as_sent=True)

    assert driver.execution().state == "SUCCESS"
    for step in steps:
        assert step == ["UPDATE action_executions",
                        "WITH SELECT workflow_executions, UPDATE action_executions",
                        "WITH UPDATE task_executions, INSERT task_executions, INSERT action_executions"]
    assert last[-3:] == ["UPDATE task_executions", "SELECT answers and ends", "UPDATE workflow_executions"]


def test_the_last_step_ends_the_workflow_with_one_question_and_one_write(driver: EngineDriver) -> None:
    *_, last = run_chain(driver)

    assert last == [
        "UPDATE action_executions",
        "SELECT workflow_executions",
        "UPDATE action_executions",
        # The last task, alone: the same write, of one row.
        "UPDATE task_executions" if on_postgresql() else "INSERT task_executions",
        # Running, waiting, failed or cancelled tasks, and what the last tasks published (the
        # workflow's output): one question.
        "SELECT answers and ends",
        "UPDATE workflow_executions",   # state and output together
    ]


GLUE_CHAIN = "\n".join(
    ["version: '2.0'", "statements_glue:", "  tasks:"]
    + [line for index in range(1, 4) for line in (
        f"    g{index}:", "      action: std.noop", *([f"      on-success: g{index + 1}"] if index < 3 else []))]
) + "\n"


def test_a_step_of_glue_writes_each_table_once(driver: EngineDriver) -> None:
    # The worker's step that completes a whole chain of glue tasks inline: the glue action it takes
    # goes back completed in the same statement as the actions it made.
    driver.define(GLUE_CHAIN)
    driver.start("statements_glue")
    (message,) = driver.pending
    assert isinstance(message, RunInline)
    with statements() as step:
        driver.engine.run_inline(message.workflow_execution_id, list(message.action_execution_ids))

    assert driver.execution().state == "SUCCESS"
    assert [task.name for task in driver.tasks()] == ["g1", "g2", "g3"]
    for task in driver.tasks():
        (action,) = driver.actions(task)
        assert (action.state, action.accepted, action.processed, action.output) == (
            "SUCCESS", True, True, {"result": None})
        assert action.updated_at is not None and action.updated_at >= action.created_at
    assert step == [
        "SELECT workflow_executions",   # the lock
        "UPDATE action_executions",     # the glue action handed on, taken (a compare-and-set)
        "SELECT task_executions",       # its task
        # The three tasks, the first one changed, two new (on PostgreSQL the changed one is an
        # UPDATE of what changed, in the same statement).
        *(["UPDATE task_executions"] if on_postgresql() else []),
        "INSERT task_executions",
        "INSERT action_executions",     # the three actions, the first one changed, two new
        "SELECT answers and ends",
        "UPDATE workflow_executions",
    ]


ITEMS = """
version: '2.0'
statements_items:
  input: [items]
  tasks:
    each:
      with-items: x in <% $.items %>
      action: bench.noop
"""

FAN_IN = "\n".join(
    ["version: '2.0'", "statements_fan_in:", "  tasks:"]
    + [line for index in range(1, 4) for line in (f"    b{index}:", "      action: bench.noop",
                                                  "      on-success: joined")]
    + ["    joined:", "      join: all", "      action: std.noop"]
) + "\n"


def test_an_item_that_is_not_the_last_asks_nothing_about_the_workflows_end(driver: EngineDriver) -> None:
    # Its task is still open: the workflow cannot be over, whatever the other tasks are.
    steps = run_workflow(driver, ITEMS, "statements_items", {"items": [1, 2, 3, 4]})

    assert driver.execution().state == "SUCCESS"
    assert len(steps) == 4
    for step in steps[:-1]:
        assert step == [
            "UPDATE action_executions",     # the claim
            "SELECT workflow_executions",   # the lock, the task with it
            "UPDATE action_executions",     # the result
            "UPDATE task_executions",       # the task's progress
        ]
    assert "SELECT answers and ends" in steps[-1]


def test_a_branch_of_a_fan_in_writes_its_task_and_the_join_in_one_statement(driver: EngineDriver) -> None:
    steps = run_workflow(driver, FAN_IN, "statements_fan_in", as_sent=True)

    assert driver.execution().state == "SUCCESS"
    first, second, last = steps
    # SQLite: one upsert of both; PostgreSQL: one statement of the branch's UPDATE and the join's
    # INSERT (the first branch) or UPDATE (the second).
    expected = (["WITH UPDATE task_executions, INSERT task_executions"],
                ["WITH UPDATE task_executions, UPDATE task_executions"]) if on_postgresql() \
        else (["INSERT task_executions"], ["INSERT task_executions"])
    for step, task_writes in zip((first, second), expected, strict=True):
        assert [sent for sent in step if "task_executions" in sent and "SELECT task" not in sent] == task_writes, step
        assert step.count("SELECT answers and ends") == 1, step
    assert any("INSERT action_executions" in sent for sent in last)   # the join's action, run inline


def test_the_claim_is_a_transaction_of_its_own_and_on_a_server_one_round_trip(driver: EngineDriver) -> None:
    # On PostgreSQL the claim runs in autocommit: the statement is its own transaction, where BEGIN,
    # the statement and COMMIT would be three round trips. On SQLite it runs alone as well, in the
    # transaction SQLite makes for the statement (no BEGIN, no COMMIT), once the writers file lock
    # is held.
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if db.engine.dialect.name == "sqlite":
            # Whether a transaction is open on the connection as the statement starts.
            seen.append((statement.split()[0].upper(), dbapi_connection.in_transaction))
        else:
            # The driver's own setting: a pooled connection left in autocommit would show here.
            seen.append((statement.split()[0].upper(), getattr(dbapi_connection, "autocommit", None)))

    driver.define(CHAIN)
    driver.root_ids.append(driver.engine.start_workflow("statements_chain").id)
    (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        executor.run_action(session(), driver.engine, driver.settings, run.action_execution_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    if db.engine.dialect.name == "sqlite":
        assert seen[:3] == [("UPDATE", False), ("BEGIN", False), ("SELECT", True)]
    else:
        assert seen[0] == ("UPDATE", True)
        assert [autocommit for _, autocommit in seen[1:]] == [False] * (len(seen) - 1)
    assert driver.execution().state == "RUNNING"


def test_a_claim_run_again_with_its_own_parameters_finds_itself(driver: EngineDriver) -> None:
    # What a claim whose connection was lost after its commit does: it runs again, as it was.
    driver.define(CHAIN)
    driver.root_ids.append(driver.engine.start_workflow("statements_chain").id)
    (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
    parameters = executor._claim_parameters(run.action_execution_id)

    first = first_row_alone(session(), executor._CLAIM_UNCLAIMED, parameters)
    again = first_row_alone(session(), executor._CLAIM_UNCLAIMED, parameters)
    another = first_row_alone(session(), executor._CLAIM_UNCLAIMED, executor._claim_parameters(run.action_execution_id))

    assert first is not None and again is not None and first[0] == again[0] == run.action_execution_id
    assert another is None


def test_changed_actions_set_only_the_columns_each_changed(driver: EngineDriver) -> None:
    # An action row is also written without its workflow's lock (claims, heartbeats, the sweeper):
    # a statement that set a column a row did not change could write back a stale value.
    driver.define(GLUE_CHAIN)
    driver.start("statements_glue")
    driver.run()
    ids = [driver.actions(task)[0].id for task in driver.tasks()[:2]]
    session().commit()
    first, second = sorted(session().scalars(select(ActionExecution).where(ActionExecution.id.in_(ids))),
                           key=lambda row: ids.index(row.id))
    first.description = "first"
    second.tags = ["second"]
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.extend(parts(statement))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with step_writes.writing(session()):
            session().flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    session().commit()

    upserts = [statement for statement in sent if statement.startswith("INSERT INTO action_executions")]
    assert len(upserts) == 2, sent
    sets = [statement.split("DO UPDATE SET", 1)[1] for statement in upserts]
    assert sorted(('"description"' in changed, '"tags"' in changed) for changed in sets) == [
        (False, True), (True, False)]
    session().expire_all()
    assert [(row.description, row.tags) for row in (session().get(ActionExecution, i) for i in ids)] == [
        ("first", []), ("", ["second"])]


def test_the_upsert_stores_values_as_the_orm_stores_them(driver: EngineDriver,
                                                        every_state_write_is_checked: StateWrites) -> None:
    # The upsert converts the values itself (the dialect's own conversions, handed to the driver):
    # what it stores must be what the ORM's INSERT stores, byte for byte, None in a JSON column and
    # times included, or queries and indexes would see two kinds of rows.
    by_orm, by_upsert = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("orm", "upsert"))

    def action(action_id: str) -> ActionExecution:
        return ActionExecution(id=action_id, name="std.echo", description="", state="SUCCESS", tags=["a"],
                               input={"output": [1, "two", None]}, output={"result": None}, params={},
                               is_sync=True, accepted=True, processed=False, item_index=None, worker_id=None,
                               last_heartbeat=datetime(2026, 1, 2, 3, 4, 5, 6), sent_request=None,
                               created_at=datetime(2026, 1, 2, 3, 4, 5), updated_at=None)

    session().add(action(by_orm))
    session().commit()
    session().add(action(by_upsert))
    with statements() as sent, step_writes.writing(session()):
        session().flush()
    session().commit()
    # Rows made here, not by the engine: no state of theirs went through its transitions.
    every_state_write_is_checked.unchecked.clear()

    assert sent == ["INSERT action_executions"]
    stored = _stored_actions([by_orm, by_upsert])
    session().execute(delete(ActionExecution).where(ActionExecution.id.in_([by_orm, by_upsert])))
    session().commit()
    assert stored[by_upsert] == stored[by_orm]
    # The ORM stores None in a JSON column as JSON's null, not SQL's NULL: so must the upsert.
    assert stored[by_orm][-1] == "null"


def _stored_actions(ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """Each row as the database keeps it, its own id left out, the last value its ``sent_request``.
    PostgreSQL's driver makes Python values of what it reads (JSON's null and SQL's NULL both None):
    there the row is read as PostgreSQL prints it."""
    connection = session().connection()
    listed = ", ".join(f"'{action_id}'" for action_id in ids)
    row_as_stored = "a::text" if connection.dialect.name == "postgresql" else "a.*"
    rows = connection.exec_driver_sql(
        f"SELECT a.id, {row_as_stored}, a.sent_request{'::text' if 'text' in row_as_stored else ''} "  # noqa: S608
        f"FROM action_executions a WHERE a.id IN ({listed})").all()
    return {row[0]: tuple(value.replace(row[0], "<id>") if isinstance(value, str) else value
                          for value in row[1:]) for row in rows}


def test_the_claim_marks_the_action_updated(driver: EngineDriver) -> None:
    # As Mistral shows a running action: updated as its run starts, not only when it ends.
    driver.define(CHAIN)
    driver.root_ids.append(driver.engine.start_workflow("statements_chain").id)
    (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
    parameters = executor._claim_parameters(run.action_execution_id)

    assert first_row_alone(session(), executor._CLAIM_UNCLAIMED, parameters) is not None

    claimed = session().get(ActionExecution, run.action_execution_id, populate_existing=True)
    assert claimed is not None and claimed.worker_id == executor.worker_id()
    assert claimed.updated_at == parameters["now"]


CONTEXT_CHAIN = """
version: '2.0'
statements_context:
  input: [big]
  tasks:
    zero:
      action: bench.noop
      publish: {big: <% $.big %>}
      on-success: one
    one:
      action: bench.noop
      on-success: two
    two:
      action: bench.noop
"""


@pytest.mark.usefixtures("postgres_only")
def test_a_task_that_ends_does_not_send_its_context_again(driver: EngineDriver) -> None:
    # The context a task started with does not change once it runs: its end writes what changed.
    # (The workflow's input stays the workflow's: what ``zero`` publishes is in the next contexts.)
    marker = f"context-{uuid.uuid4().hex}"
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters
        # psycopg's JSON wrapper shortens its repr: the value it wraps, in full.
        sent.extend(json.dumps(getattr(value, "obj", value), default=str) for value in values)

    driver.define(CONTEXT_CHAIN)
    driver.root_ids.append(driver.engine.start_workflow("statements_context", wf_input={"big": marker}).id)
    for observed in (False, True):
        (run,) = [message for message in driver.dispatcher.sent if isinstance(message, RunAction)]
        driver.dispatcher.sent.clear()
        if observed:
            event.listen(db.engine, "before_cursor_execute", record)
        try:
            executor.run_action(session(), driver.engine, driver.settings, run.action_execution_id)
        finally:
            if observed:
                event.remove(db.engine, "before_cursor_execute", record)

    assert [task.state for task in driver.tasks()] == ["SUCCESS", "SUCCESS", "RUNNING"]
    assert driver.task("one").in_context["big"] == driver.task("two").in_context["big"] == marker
    # Once: in the new task's context, not again in the one that ended.
    assert sum(parameters.count(marker) for parameters in sent) == 1

"""Transactions of the engine: retries on transient database errors, the workflow lock.

The lock order is always the workflow execution row first, so parallel branches never deadlock.
SQLite has no row locks: there every write unit begins with ``BEGIN IMMEDIATE`` (see
``app.database``), which serialises writers instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, exists, func, literal, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.database import STATEMENT_ALONE, immediate_transactions
from app.engine import autocommit_connections
from app.engine.driver_statements import DriverStatement
from app.engine.row_loading import RowLoader, read_first
from app.models import ActionExecution, TaskExecution, WorkflowExecution

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT_MARKERS = (
    "database is locked", "deadlock detected", "could not serialize", "serialization failure",
    "lock timeout", "could not obtain lock",
)
MAX_ATTEMPTS = 8


def is_transient(exc: BaseException, committing: bool = False) -> bool:
    """Whether running the unit again may succeed, and is safe: ``committing`` says the error came
    from the COMMIT itself."""
    if getattr(exc, "connection_invalidated", False):
        # A connection found dead (the server restarted, say) is dropped from the pool: the next
        # attempt runs on a fresh one. Not when the COMMIT was on its way: the server may have
        # committed it, and the work must not be done twice.
        return not committing
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def with_retries(session: Session, unit: Callable[[], T]) -> T:
    """Run ``unit`` in a write transaction of its own and commit; on a transient database error roll
    back and run it again."""
    if session.in_transaction():
        # A read transaction left open by the caller would make the unit's writes deferred.
        session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        committing = False
        try:
            with immediate_transactions():
                result = unit()
                session.flush()
                committing = True
                session.commit()
            return result
        except (OperationalError, DBAPIError) as exc:
            session.rollback()
            if not is_transient(exc, committing) or attempt == MAX_ATTEMPTS:
                raise
            _back_off(attempt, exc)
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def read_with_retries(session: Session, read: Callable[[], T]) -> T:
    """Run ``read`` in a read transaction of its own and end it; on a transient database error (a
    pooled connection the server closed, say) run it again on a fresh connection.

    A plain read takes no write lock on SQLite (and on a server none either), so the questions a
    background loop asks again and again never queue behind the workers' writes. ``read`` must
    fetch everything it needs: the transaction ends as it returns.
    """
    if session.in_transaction():
        session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return read()
        except (OperationalError, DBAPIError) as exc:
            if not is_transient(exc) or attempt == MAX_ATTEMPTS:
                raise
            _back_off(attempt, exc)
        finally:
            # Ends the read, or a failed attempt's transaction: on SQLite an open snapshot would hide
            # what others commit after it.
            session.rollback()
    raise AssertionError("unreachable")


def first_row_alone(session: Session, statement: DriverStatement, parameters: dict[str, Any]) -> Any:
    """Run one write statement as a transaction of its own and return its first row (None: none).

    On a server database it runs in autocommit: one round trip, where BEGIN, the statement and
    COMMIT take three. On SQLite it runs alone as well, in the transaction SQLite makes for it,
    once this thread holds the writers file lock (``app.database``): two calls to SQLite fewer than
    a write unit of :func:`with_retries`. Only for a compare-and-set: a connection lost during the
    statement may have committed it, and the statement runs again, which then changes nothing.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return with_retries(session, lambda: statement.first(session.connection(), parameters))
    if session.in_transaction():
        session.commit()
    sqlite = bind.dialect.name == "sqlite"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            if not sqlite:
                return statement.first(autocommit_connections.connection_for(bind), parameters)
            with immediate_transactions(), bind.connect().execution_options(**{STATEMENT_ALONE: True}) as connection:
                return statement.first(connection, parameters)
        except BaseException as exc:
            if not sqlite:
                # Failed, or interrupted mid-statement (a time limit, say): the connection may be
                # dead or mid-query.
                autocommit_connections.forget(bind)
            if not isinstance(exc, OperationalError | DBAPIError) or not is_transient(exc) \
                    or attempt == MAX_ATTEMPTS:
                raise
            _back_off(attempt, exc)
    raise AssertionError("unreachable")


def _back_off(attempt: int, exc: BaseException) -> None:
    delay = min(0.05 * 2 ** attempt, 1.0) * random.uniform(0.5, 1.0)
    log.warning("transient database error, retrying in %.2fs: %s", delay, exc)
    time.sleep(delay)


# The columns that may hold large data (an input carrying a with-items list, for one).
# (``params`` stays: it is small, and notifications read it at every flush.)
WORKFLOW_DATA = ("input", "context", "output")
TASK_DATA = ("in_context", "published", "result")

_WORKFLOWS = WorkflowExecution.__table__
_TASKS = TaskExecution.__table__
_ACTIONS = ActionExecution.__table__

# The spec snapshot loads on first use only: each process keeps the parsed spec of an execution.
# Keyed by ``without_data``: the data columns too load on first use.
_WORKFLOW_ROWS = {flag: RowLoader(WorkflowExecution, ("spec", *(WORKFLOW_DATA if flag else ())))
                  for flag in (False, True)}
# Every column of a task: what the engine's other reads of whole tasks load with (store, inline steps).
TASK_ROWS = RowLoader(TaskExecution)
_TASK_ROWS = {False: TASK_ROWS, True: RowLoader(TaskExecution, TASK_DATA)}


def _lock_workflow_statement(without_data: bool) -> DriverStatement:
    return DriverStatement(select(*_WORKFLOW_ROWS[without_data].columns)
                           .where(_WORKFLOWS.c.id == bindparam("workflow_id"))
                           .with_for_update())


def _lock_workflow_with_task_statement(without_data: bool) -> DriverStatement:
    return DriverStatement(select(*_WORKFLOW_ROWS[without_data].columns, *_TASK_ROWS[without_data].columns)
                           .join(_TASKS, and_(_TASKS.c.id == bindparam("task_id"),
                                              _TASKS.c.workflow_execution_id == _WORKFLOWS.c.id))
                           .where(_WORKFLOWS.c.id == bindparam("workflow_id"))
                           .with_for_update(of=[_WORKFLOWS, _TASKS]))


# Built once, for every step locks, and handed to the driver as text (keyed by ``without_data``).
_LOCK_WORKFLOW = {flag: _lock_workflow_statement(flag) for flag in (False, True)}
_LOCK_WORKFLOW_WITH_TASK = {flag: _lock_workflow_with_task_statement(flag) for flag in (False, True)}


def lock_workflow(session: Session, workflow_execution_id: str, without_data: bool = False) -> WorkflowExecution | None:
    """Load the workflow execution row for update (PostgreSQL row lock; a no-op on SQLite).

    The spec snapshot loads on first use only: each process keeps the parsed spec of an execution
    (``runtime.spec_of``), and decoding it at every step would cost the size of the workflow.
    ``without_data`` also leaves the data columns to load on first use: a step that will likely not
    read them (one with-items item ending) does not pay for decoding them.
    """
    row = read_first(session, _LOCK_WORKFLOW[without_data], {"workflow_id": workflow_execution_id})
    return None if row is None else _WORKFLOW_ROWS[without_data].load(session, row)


def lock_workflow_with_task(session: Session, workflow_execution_id: str, task_execution_id: str,
                            without_data: bool = False) -> tuple[WorkflowExecution | None, TaskExecution | None]:
    """:func:`lock_workflow` and the load of one of its tasks, in one statement.

    Both rows are locked, the workflow's first (``FOR UPDATE OF`` locks in the order it names
    them), so the engine's lock order holds. The task must be locked too: a locking read that
    waited for the workflow row sees that row as the transaction it waited for left it, but the
    rows it merely joins as they were when it began, and that transaction may have changed the
    task. ``without_data`` also leaves the task's data columns to load on first use. Falls back to
    :func:`lock_workflow` alone when the task is not the workflow's.
    """
    row = read_first(session, _LOCK_WORKFLOW_WITH_TASK[without_data],
                     {"workflow_id": workflow_execution_id, "task_id": task_execution_id})
    if row is None:
        return lock_workflow(session, workflow_execution_id, without_data), None
    return _workflow_and_task(session, without_data, row)


def _workflow_and_task(session: Session, without_data: bool,
                       values: Sequence[Any]) -> tuple[WorkflowExecution, TaskExecution]:
    """The session's rows of a workflow-and-task lock's values."""
    workflows = _WORKFLOW_ROWS[without_data]
    width = len(workflows.columns)
    return workflows.load(session, values[:width]), _TASK_ROWS[without_data].load(session, values[width:])


def _lock_and_complete_statement(without_data: bool) -> DriverStatement:
    # The lock is a CTE that the compare-and-set reads (EXISTS), so PostgreSQL takes the row locks
    # before it updates the action: the workflow's lock comes first, as everywhere else.
    locked = _lock_workflow_with_task_statement(without_data).statement.cte("locked")
    completed = (update(_ACTIONS)
                 .where(_ACTIONS.c.id == bindparam("action_id"), _ACTIONS.c.state == "RUNNING",
                        exists(select(literal(1)).select_from(locked)))
                 .values(state=bindparam("action_state"),
                         output=bindparam("action_output", type_=_ACTIONS.c.output.type),
                         accepted=True, processed=True,
                         updated_at=bindparam("now", type_=_ACTIONS.c.updated_at.type))
                 .returning(_ACTIONS.c.id)
                 .cte("completed"))
    return DriverStatement(select(*locked.c, select(func.count()).select_from(completed).scalar_subquery()))


_LOCK_AND_COMPLETE = {flag: _lock_and_complete_statement(flag) for flag in (False, True)}


def lock_workflow_with_task_completing(
        session: Session, workflow_execution_id: str, task_execution_id: str, without_data: bool,
        action_execution_id: str, state: str, output: dict[str, Any], now: Any,
) -> tuple[WorkflowExecution, TaskExecution, bool] | None:
    """:func:`lock_workflow_with_task` and the compare-and-set of a RUNNING action's result, in one
    statement on PostgreSQL (one round trip fewer while the workflow is locked); whether the action
    was completed. None when the task is not the workflow's (nothing was locked or written)."""
    row = read_first(session, _LOCK_AND_COMPLETE[without_data], {
        "workflow_id": workflow_execution_id, "task_id": task_execution_id, "action_id": action_execution_id,
        "action_state": state, "action_output": output, "now": now})
    if row is None:
        return None
    *values, completed = row
    return (*_workflow_and_task(session, without_data, values), bool(completed))

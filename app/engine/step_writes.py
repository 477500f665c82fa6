"""The task and action rows one engine step made or changed, written in as few statements as can be.

A chain step completes a task, makes the next and its action: the ORM's unit of work writes them
with an UPDATE and two INSERTs, each after its own bookkeeping. Here the task rows, new and changed,
go in one multi-row ``INSERT ... ON CONFLICT (id) DO UPDATE`` of the columns that changed (SQLite and
PostgreSQL share the syntax), and the action rows, new and changed (a glue action the step took and
completed), in another; the session's own flush then skips them. On PostgreSQL, where a write's
statements go to the server as one, each changed task goes in an UPDATE of the columns it changed
instead: its context, often the largest of its values and unchanged once the task runs, is then
not encoded, sent and read again at each of its changes.

Only when every new row of the session is a task, an action or a workflow started by a request (a
new sub-workflow, a timer, are left with everything else to the ORM), and up to :data:`MAX_ROWS`
rows of a table (the ORM's executemany does as well beyond). A changed row of an upsert goes back
whole in its VALUES, of which the conflict sets the columns any row of the statement changed; one
loaded in part (as a changed workflow) goes in an UPDATE of what changed. A task is only written
under its workflow's lock, so the upsert of tasks may set the columns any of its rows changed. An
action is also written without that lock (claims, heartbeats, the sweeper): changed actions go in
one statement per set of changed columns, so none writes back a column it did not change, as the
ORM's UPDATE would not.

It runs at every flush of an engine unit (:func:`writing`), the ones a query in the middle of a
step makes as well as the commit's: a step that completes glue inline makes and completes tasks,
then asks what runs, and each of those flushes would otherwise go through the unit of work. The rows
written stay in the session as loaded ones, so what the step changes of them afterwards is written
by the next flush.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Dialect, Table, event, inspect
from sqlalchemy.orm import InstanceState, Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from app.engine.driver_statements import first_row_of_text, run_text
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now

MAX_ROWS = 50
# A statement's text in the driver's placeholders, and its converted values.
_Statement = tuple[str, tuple[Any, ...]]
_WORKFLOWS: Table = WorkflowExecution.__table__
_TASKS: Table = TaskExecution.__table__
_ACTIONS: Table = ActionExecution.__table__
_COLUMNS = {table: frozenset(column.key for column in table.columns) for table in (_TASKS, _ACTIONS)}


_ENABLED = "tramontane.step_writes"


@contextmanager
def writing(session: Session) -> Iterator[None]:
    """Within this block the session's flushes write tasks and actions as :func:`write` does."""
    session.info[_ENABLED] = True
    try:
        yield
    finally:
        session.info.pop(_ENABLED, None)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _objects: Any) -> None:
    if session.info.get(_ENABLED):
        write(session, keep=True)


def write(session: Session, keep: bool = False) -> None:
    """Write the session's new tasks and actions, with its changed tasks, as described above.

    ``keep``: the step goes on (a flush before a query), so the rows inserted stay in the session
    as loaded ones. Otherwise (the unit's end) the session lets go of them: they stay as written,
    every column loaded, for what the unit's caller reads of them, and nothing of them is left in
    the session to expire at the commit or to survive a rolled-back (retried) transaction."""
    pending = list(session.new)
    if not all(isinstance(row, TaskExecution | ActionExecution) or _is_new_top_level(row) for row in pending):
        return
    changed: list[TaskExecution | ActionExecution] = []
    partly_loaded: list[TaskExecution | ActionExecution] = []
    changed_workflows: list[WorkflowExecution] = []
    for row in session.dirty:
        if isinstance(row, WorkflowExecution):
            if session.is_modified(row):
                changed_workflows.append(row)
        elif isinstance(row, TaskExecution | ActionExecution) and session.is_modified(row):
            (partly_loaded if inspect(row).unloaded.intersection(_COLUMNS[row.__table__]) else changed).append(row)
    if not pending and not changed and not partly_loaded and not changed_workflows:
        return
    pending.sort(key=lambda row: inspect(row).insert_order)
    new_workflows = [row for row in pending if isinstance(row, WorkflowExecution)]
    new_tasks = [row for row in pending if isinstance(row, TaskExecution)]
    new_actions = [row for row in pending if isinstance(row, ActionExecution)]
    changed_tasks = [row for row in changed if isinstance(row, TaskExecution)]
    changed_actions = [row for row in changed if isinstance(row, ActionExecution)]
    if (len(new_tasks) + len(changed_tasks) > MAX_ROWS or len(new_actions) + len(changed_actions) > MAX_ROWS
            or len(new_workflows) > 1):
        return
    writes = _Statements(session.connection())
    if new_workflows:
        # First: its tasks refer to it.
        writes.add(*_insert(writes.dialect, _WORKFLOWS, [_values(_WORKFLOWS, row) for row in new_workflows], ()),
                   done=lambda: _as_written(session, new_workflows, keep))
    # In the order of their ids, as the ORM's flush writes them: two transactions that change the
    # same workflows take their row locks in the same order.
    for row in sorted(changed_workflows, key=lambda workflow: workflow.id):
        _update_changed(session, row, writes)
    # Rows loaded in part (an item's task without its data): an UPDATE of what changed, as for a
    # workflow, rather than the ORM's flush. Actions first, each table's by ids.
    for row in sorted(partly_loaded, key=lambda row: (isinstance(row, TaskExecution), row.id)):
        _update_changed(session, row, writes)
    if writes.combined:
        # Each a part of the one statement: no round trip more.
        for row in in_write_order(changed_tasks):
            _update_changed(session, row, writes)
        changed_tasks = []
    if new_tasks or changed_tasks:
        _upsert(session, _TASKS, new_tasks, changed_tasks, keep, writes)
    if new_actions or changed_actions:
        # After the tasks: a new action refers to its new task.
        groups = _by_changed_keys(changed_actions)
        _upsert(session, _ACTIONS, new_actions, groups[0] if groups else [], keep, writes)
        for group in groups[1:]:
            _upsert(session, _ACTIONS, [], group, keep, writes)
    writes.run()


def in_write_order(tasks: list[TaskExecution]) -> list[TaskExecution]:
    """Changed tasks grouped by the columns they changed, then by ids: steps of one shape (a batch
    of a fan-in's branches and its join, however their ids fall) send one text, which the server
    then prepares once."""
    return sorted(tasks, key=lambda task: (sorted(_changed_keys(task, _COLUMNS[_TASKS])), task.id))


class _Statements:
    """The statements of one write, run in order; on PostgreSQL all of them in one statement.

    A chain step writes its tasks and its new action, a start its workflow too: on a server each
    statement is a round trip and the driver's work of an execution. PostgreSQL runs the parts of
    one ``WITH`` each to completion, on one snapshot, and checks the foreign keys after the whole
    statement, so a new action may refer to a new task of the same statement. It does not promise
    an order among the parts, and no two parts may write one row: each row of a write is in one
    statement only (new or changed, and changed actions grouped by the columns they changed). A row
    is taken for written (``done``) only once its statement ran.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.dialect: Dialect = connection.dialect
        # Whether the statements go to the server as one.
        self.combined = self.dialect.name == "postgresql"
        self._statements: list[tuple[str, tuple[Any, ...], Callable[[int], None] | None, Callable[[], None]]] = []

    def add(self, sql: str, parameters: tuple[Any, ...], check: Callable[[int], None] | None = None,
            done: Callable[[], None] = lambda: None) -> None:
        """Add a statement; ``check`` is told the rows it changed, then ``done`` is called."""
        self._statements.append((sql, parameters, check, done))

    def run(self) -> None:
        if len(self._statements) > 1 and self.combined:
            sql = _together(tuple(sql for sql, _, _, _ in self._statements))
            parameters = tuple(value for _, values, _, _ in self._statements for value in values)
            counts = first_row_of_text(self.connection, sql, parameters)
            for (_, _, check, _), count in zip(self._statements, counts, strict=True):
                if check is not None:
                    check(count)
            for _, _, _, done in self._statements:
                done()
            return
        for sql, parameters, check, done in self._statements:
            count = run_text(self.connection, sql, parameters)
            if check is not None:
                check(count)
            done()


@lru_cache(maxsize=64)
def _together(statements: tuple[str, ...]) -> str:
    """One PostgreSQL statement that runs each of ``statements`` and answers the rows each changed."""
    parts = ", ".join(f"s{index} AS ({sql} RETURNING 1)" for index, sql in enumerate(statements))
    # The step's own statements and the parts' names only; every value is a bound parameter.
    counts = ", ".join(f"(SELECT count(*) FROM s{index})" for index in range(len(statements)))  # noqa: S608
    return f"WITH {parts} SELECT {counts}"


def _update_changed(session: Session, row: WorkflowExecution | TaskExecution | ActionExecution,
                    writes: _Statements) -> None:
    """The columns of ``row`` the step changed, in an UPDATE of that row alone, as the ORM's flush
    would write them (its ``onupdate`` time included) without its unit of work: a workflow's end,
    say. The row may have columns left to load on first use (a workflow's spec), which stay so."""
    state: InstanceState[Any] = inspect(row)
    if "updated_at" not in state.committed_state:
        row.updated_at = utc_now()
    table: Table = row.__table__
    keys = [key for key in _positions(table) if key in state.committed_state]
    writes.add(*_update(writes.dialect, table, {key: row.__dict__.get(key) for key in keys}, {"id": row.id}),
               check=partial(_one_row_updated, table.name), done=lambda: _as_clean(session, state))


def _one_row_updated(table: str, rowcount: int) -> None:
    if rowcount != 1:
        # What the ORM's flush raises for a row gone from under it.
        raise StaleDataError(f"UPDATE statement on table '{table}' expected to update 1 row(s); "
                             f"{rowcount} were matched.")


def _as_clean(session: Session, state: InstanceState[Any]) -> None:
    """The row is as written: nothing left for the flush, and, as for a row the flush wrote, the
    transaction knows it changed it (its rollback expires it)."""
    state._commit_all(state.dict, session.identity_map)  # noqa: SLF001 - no public way to mark a row clean
    session._register_altered([state])  # noqa: SLF001


def update_row(session: Session, table: Table, values: dict[str, Any], where: dict[str, Any]) -> int:
    """``UPDATE table SET values WHERE`` every column of ``where`` equals its value, handed to the
    driver as the upserts are (each value through its column's conversion); returns the rowcount."""
    connection = session.connection()
    return run_text(connection, *_update(connection.dialect, table, values, where))


def _update(dialect: Dialect, table: Table, values: dict[str, Any], where: dict[str, Any]) -> _Statement:
    """:func:`update_row`'s statement and its converted values."""
    conversions = _conversions(table, dialect)
    positions = _positions(table)
    parameters = []
    for key, value in (*values.items(), *where.items()):
        convert = conversions[positions[key]]
        parameters.append(value if convert is None else convert(value))
    return _update_statement(table, tuple(values), tuple(where), dialect.paramstyle == "qmark"), tuple(parameters)


@lru_cache(maxsize=64)
def _update_statement(table: Table, keys: tuple[str, ...], where: tuple[str, ...], qmark: bool) -> str:
    """An UPDATE of ``keys`` of the rows of ``table`` matching ``where``, in the driver's placeholders."""
    placeholder = "?" if qmark else "%s"
    assignments = ", ".join(f'"{key}" = {placeholder}' for key in keys)
    conditions = " AND ".join(f'"{key}" = {placeholder}' for key in where)
    # Names from the model only; every value is a bound parameter.
    return f"UPDATE {table.name} SET {assignments} WHERE {conditions}"  # noqa: S608


@lru_cache(maxsize=8)
def _positions(table: Table) -> dict[str, int]:
    """Each column's place in ``table``, by key, in the table's order."""
    return {column.key: index for index, column in enumerate(table.columns)}


def _by_changed_keys(rows: list[Any]) -> list[list[Any]]:
    groups: dict[frozenset[str], list[Any]] = {}
    for row in rows:
        groups.setdefault(frozenset(_changed_keys(row, _COLUMNS[row.__table__])), []).append(row)
    return list(groups.values())


def _is_new_top_level(row: Any) -> bool:
    # A workflow started by a request (not a sub-workflow, whose parent task may be new as well).
    return isinstance(row, WorkflowExecution) and row.task_execution_id is None


def _upsert(session: Session, table: Table, new: list[Any], changed: list[Any], keep: bool,
            writes: _Statements) -> None:
    """The new rows and the changed ones of ``table`` in one statement, as described above."""
    updated: tuple[str, ...] = ()
    if changed:
        keys = _COLUMNS[table]
        updated = tuple(sorted({key for row in changed for key in _changed_keys(row, keys)} | {"updated_at"}))
        now = utc_now()
        for row in changed:
            # The column's onupdate, as the ORM's UPDATE applies it: unless the step set the time.
            if "updated_at" not in inspect(row).committed_state:
                row.updated_at = now

    def done() -> None:
        for row in changed:
            # Every column went back whole: the row is as written, and the session's flush must
            # not take it for a changed one (a flush that only finds nothing to write still costs a
            # step).
            _as_clean(session, inspect(row))
        _as_written(session, new, keep)

    writes.add(*_insert(writes.dialect, table, [_values(table, row) for row in (*changed, *new)], updated), done=done)


def _insert(dialect: Dialect, table: Table, rows: list[list[Any]], updated: tuple[str, ...]) -> _Statement:
    # Handed to the driver as it is (driver_statements.run_text): the values go through the
    # dialect's own conversions, but not through SQLAlchemy's per-execution work on a statement (a
    # dict of every parameter by name, then a list of each converted, a result object), which cost
    # as much as running the statement.
    conversions = _conversions(table, dialect)
    values = tuple(value if convert is None else convert(value)
                   for row in rows for value, convert in zip(row, conversions, strict=True))
    return _statement(table, len(rows), updated, dialect.paramstyle == "qmark"), values


def add(session: Session, row: Any) -> None:
    """Add a new row the step made to the session, as ``session.add`` does.

    A row whose relationships hold nothing (the engine links its rows by id) skips the cascade
    walk over them, which cost more than the rest of the add: nothing hangs on them to add too.
    """
    if _holds_related(row):
        session.add(row)
        return
    session._save_impl(inspect(row))  # noqa: SLF001 - add without the cascade walk


def _holds_related(row: Any) -> bool:
    return any(key in row.__dict__ for key in _RELATIONSHIPS[type(row)])


_RELATIONSHIPS = {model: tuple(inspect(model).relationships.keys())
                  for model in (WorkflowExecution, TaskExecution, ActionExecution)}


def _as_written(session: Session, rows: list[Any], keep: bool) -> None:
    """The session no longer has to insert the rows; with ``keep`` they become its loaded rows."""
    if keep:
        # What the session's own flush does with the rows it inserted (and, like it, undoes if the
        # transaction rolls back); the public way, expunge and add again, costs a cascade walk a row.
        session._register_persistent({inspect(row) for row in rows})  # noqa: SLF001
        return
    for row in rows:
        if _holds_related(row):
            session.expunge(row)
        else:
            session._expunge_states([inspect(row)])  # noqa: SLF001 - expunge without the cascade walk
        make_transient_to_detached(row)


@lru_cache(maxsize=128)
def _statement(table: Table, count: int, updated: tuple[str, ...], qmark: bool) -> str:
    """An INSERT of ``count`` rows into ``table`` that updates ``updated`` on a conflict of ids (when
    given), in the driver's own placeholders (``?`` or ``%s``): the values come row after row, each
    row's in the table's column order.

    Written out rather than built with the dialects' ``insert().on_conflict_do_update()``, which
    SQLAlchemy compiles again at every execution.
    """
    placeholder = "?" if qmark else "%s"
    row = "(" + ", ".join([placeholder] * len(table.columns)) + ")"
    columns = ", ".join(f'"{column.key}"' for column in table.columns)
    # Names from the model only; every value is a bound parameter.
    sql = f"INSERT INTO {table.name} ({columns}) VALUES " + ", ".join([row] * count)  # noqa: S608
    if updated:
        sql += " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f'"{key}" = excluded."{key}"' for key in updated)
    return sql


@lru_cache(maxsize=8)
def _conversions(table: Table, dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    """For each column of ``table`` in order, the conversion ``dialect`` applies to its values (JSON
    to text, a time to SQLite's text, ...; None: the driver takes the value as it is)."""
    return tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns)


def _changed_keys(row: Any, keys: frozenset[str]) -> list[str]:
    # The session keeps the loaded value of each attribute changed since: those are the changed ones.
    committed: dict[str, Any] = inspect(row).committed_state
    return [key for key in committed if key in keys]


def _values(table: Table, row: Any) -> list[Any]:
    """Every column of ``row``, in the table's order; a new row's missing ones take their defaults,
    set on the row too."""
    values = []
    loaded = row.__dict__
    for key, default, is_callable in _defaults(table):
        if key in loaded:
            values.append(loaded[key])
            continue
        value = default(None) if is_callable else default
        setattr(row, key, value)
        values.append(value)
    return values


@lru_cache(maxsize=8)
def _defaults(table: Table) -> tuple[tuple[str, Any, bool], ...]:
    """Each column of ``table`` in order, with its Python-side default and whether that is called
    (read once: walking the columns and their defaults at every row cost more than the values)."""
    found = []
    for column in table.columns:
        default: Any = column.default
        found.append((column.key, default.arg if default is not None else None,
                      bool(default is not None and default.is_callable)))
    return tuple(found)

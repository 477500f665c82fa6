"""The task and action rows one engine step made or changed, written in as few statements as can be.

A chain step completes a task, makes the next and its action: the ORM's unit of work writes them
with an UPDATE and two INSERTs, each after its own bookkeeping. Here the task rows, new and changed,
go in one multi-row ``INSERT ... ON CONFLICT (id) DO UPDATE`` of the columns that changed (SQLite and
PostgreSQL share the syntax), and the new action rows in one multi-row INSERT; the session's own
flush then skips them.

Only when every new row of the session is a task or an action (a new workflow execution, a timer,
must be written first and are left with everything else to the ORM), when the changed tasks have
every column loaded (each goes back whole in its VALUES, which is safe: a task is only written under
its workflow's lock), and up to :data:`MAX_ROWS` rows (the ORM's executemany does as well beyond).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, inspect, text
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.models import ActionExecution, TaskExecution, utc_now

MAX_ROWS = 50
_TASKS: Table = TaskExecution.__table__
_ACTIONS: Table = ActionExecution.__table__
_TASK_COLUMNS = [column.key for column in _TASKS.columns]
_TASK_KEYS = frozenset(_TASK_COLUMNS)


def write(session: Session) -> None:
    """Write the session's new tasks and actions, with its changed tasks, as described above."""
    pending = list(session.new)
    if not pending or not all(isinstance(row, TaskExecution | ActionExecution) for row in pending):
        return
    pending.sort(key=lambda row: inspect(row).insert_order)
    new_tasks = [row for row in pending if isinstance(row, TaskExecution)]
    new_actions = [row for row in pending if isinstance(row, ActionExecution)]
    changed = [row for row in session.dirty if isinstance(row, TaskExecution)
               and not inspect(row).unloaded.intersection(_TASK_COLUMNS) and session.is_modified(row)]
    if len(new_tasks) + len(changed) > MAX_ROWS or len(new_actions) > MAX_ROWS:
        return
    if new_tasks:
        _write_tasks(session, new_tasks, changed)
    if new_actions:
        _insert(session, _ACTIONS, [_values(_ACTIONS, row) for row in new_actions], ())
        _as_written(session, new_actions)


def _write_tasks(session: Session, new: list[TaskExecution], changed: list[TaskExecution]) -> None:
    now = utc_now()
    updated = tuple(sorted({key for row in changed for key in _changed_keys(row)} | {"updated_at"})) \
        if changed else ()
    for row in changed:
        row.updated_at = now
    _insert(session, _TASKS, [_values(_TASKS, row) for row in (*changed, *new)], updated)
    for row in changed:
        for key in updated:
            set_committed_value(row, key, getattr(row, key))
    _as_written(session, new)


def _insert(session: Session, table: Table, rows: list[dict[str, Any]], updated: tuple[str, ...]) -> None:
    session.connection().execute(_statement(table, len(rows), updated),
                                 {f"{key}_{index}": value for index, row in enumerate(rows)
                                  for key, value in row.items()})


def _as_written(session: Session, rows: list[Any]) -> None:
    """The session lets go of rows it no longer has to insert. They stay as written, every column
    loaded, for what the transaction's caller reads of them; a later read loads them afresh, and a
    rolled-back (retried) transaction leaves nothing of them in the session."""
    for row in rows:
        session.expunge(row)
        make_transient_to_detached(row)


@lru_cache(maxsize=128)
def _statement(table: Table, count: int, updated: tuple[str, ...]) -> TextClause:
    """An INSERT of ``count`` rows into ``table`` that updates ``updated`` on a conflict of ids (when
    given); the value of column ``c`` of row ``i`` is ``c_i``.

    Written out rather than built with the dialects' ``insert().on_conflict_do_update()``, which
    SQLAlchemy compiles again at every execution; text with typed parameters is compiled once.
    """
    names = [column.key for column in table.columns]
    rows = ", ".join("(" + ", ".join(f":{name}_{index}" for name in names) + ")" for index in range(count))
    columns = ", ".join(f'"{name}"' for name in names)
    # Names from the model only; every value is a bound parameter.
    sql = f"INSERT INTO {table.name} ({columns}) VALUES {rows}"  # noqa: S608
    if updated:
        sql += " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f'"{key}" = excluded."{key}"' for key in updated)
    return text(sql).bindparams(*[bindparam(f"{column.key}_{index}", type_=column.type)
                                  for index in range(count) for column in table.columns])


def _changed_keys(row: TaskExecution) -> list[str]:
    # The session keeps the loaded value of each attribute changed since: those are the changed ones.
    committed: dict[str, Any] = inspect(row).committed_state
    return [key for key in committed if key in _TASK_KEYS]


def _values(table: Table, row: Any) -> dict[str, Any]:
    """Every column of ``row``; a new row's missing ones take their defaults, set on the row too."""
    values = {}
    loaded = row.__dict__
    for column in table.columns:
        if column.key in loaded:
            values[column.key] = loaded[column.key]
            continue
        default = column.default
        value = None
        if default is not None:
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
        setattr(row, column.key, value)
        values[column.key] = value
    return values

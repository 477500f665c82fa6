"""The hot path's Core statements, compiled once per database and handed to the driver as text.

Every executor task runs the same few statements: the claim, the workflow's lock, and for a
fan-in the join's task and the end question. SQLAlchemy's execution of a compiled statement (its
cache lookup, an execution context, each parameter by name, a result object and its rows) cost
more than the statement itself on SQLite, and about as much as the round trip on PostgreSQL. Here a
statement is compiled once for each dialect into its text, the order of its parameters with each
one's conversion, and each returned column's conversion; an execution converts the values, runs
the text on the connection's cursor and converts what it returns.

Executed through ``Connection._cursor_execute``, the path SQLAlchemy itself takes for the
statements it runs on its own: the connection's ``before_cursor_execute`` and
``after_cursor_execute`` events see the statement (with no execution context: a listener that keeps
its own data on the context would fail here), and a driver error comes out wrapped as from any
execution (a connection found dead invalidated, so that a retry runs on a fresh one).

For the hot path's statements only: parameters are given by key, a bound value the statement holds
is its own (the caller cannot replace it), and returned columns are converted without the driver's
type codes, which is right for the model's types (no ``Numeric``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Dialect
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Each parameter in the order the text takes it: its name in the caller's values (None for a
    # value the statement holds itself), that value, and the conversion to hand it to the driver.
    parameters: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...]
    # Named parameters (``%(name)s``) or positional ones (``?``): the driver's paramstyle.
    named: tuple[str, ...] | None
    returns_rows: bool
    # The returned columns that need a conversion: their place and the conversion.
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]

    def arguments(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        converted = []
        for key, own_value, convert in self.parameters:
            value = own_value if key is None else values[key]
            converted.append(value if convert is None else convert(value))
        if self.named is None:
            return converted
        return dict(zip(self.named, converted, strict=True))

    def converted(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not self.conversions:
            return tuple(row)
        values = list(row)
        for position, convert in self.conversions:
            values[position] = convert(values[position])
        return tuple(values)


def run_text(connection: Connection, sql: str, parameters: Sequence[Any]) -> int:
    """Run ``sql`` (in the driver's positional placeholders: ``?`` for SQLite, ``%s`` for
    psycopg) in ``connection``'s transaction, begun if it is not; returns the rows it changed."""
    rowcount, _ = _execute(connection, sql, parameters, fetch=False, positional=True)
    return rowcount


def first_row_of_text(connection: Connection, sql: str, parameters: Sequence[Any]) -> tuple[Any, ...]:
    """:func:`run_text` of a statement that answers one row: that row, as the driver gives it."""
    _, rows = _execute(connection, sql, parameters, fetch=True, positional=True)
    return tuple(rows[0])


@lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """``sql`` with each ``%s`` numbered as PostgreSQL's own placeholders (``$1``, ``$2``, ...).

    psycopg parses a query for its ``%s`` at each execution unless it is short and has few
    parameters: a step's upsert of a few rows, or its writes sent as one statement, have hundreds.
    Numbered once here, they go through psycopg's raw cursor, which parses nothing.
    """
    parts = sql.split("%s")
    return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, 1))


def _execute(connection: Connection, sql: str, parameters: Sequence[Any] | Mapping[str, Any],
             fetch: bool, positional: bool = False) -> tuple[int, list[Any]]:
    if connection.get_transaction() is None:
        # What an execution does first: the connection's begin events run (SQLite's writers lock
        # is taken there). An inactive transaction is left to fail the statement as it would.
        connection.begin()
    if positional and connection.dialect.name == "postgresql":
        from psycopg import RawCursor  # only where psycopg is the driver

        sql = _numbered(sql)
        cursor: Any = RawCursor(connection.connection.dbapi_connection)  # type: ignore[call-overload]
    else:
        cursor = connection.connection.cursor()
    # On an error it wraps the error and closes the cursor (or the connection, if it died).
    connection._cursor_execute(cursor, sql, parameters)  # noqa: SLF001 - see the module's docstring
    try:
        # Only a statement that returns rows is asked for them: psycopg builds the description of
        # every column each time it is read. (SQLite reads the rows as they are fetched, so an
        # error may come here too.)
        rows = list(cursor.fetchall()) if fetch else []
        rowcount = int(cursor.rowcount)
    except BaseException as exc:
        connection._handle_dbapi_exception(exc, sql, parameters, cursor, None)  # noqa: SLF001
        raise
    cursor.close()
    return rowcount, rows


class DriverStatement:
    """A Core statement without expanding parameters, run as text on the driver's cursor."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        # By dialect: each engine's converts JSON with its own settings.
        self._compiled: dict[Dialect, _Compiled] = {}

    def rows(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it in ``connection``'s transaction (begun if it is not, as an execution begins it);
        the rows it returns, each value converted as SQLAlchemy's result converts it."""
        compiled = self._compiled.get(connection.dialect) or self._compile(connection.dialect)
        _, fetched = _execute(connection, compiled.sql, compiled.arguments(values), fetch=compiled.returns_rows)
        return [compiled.converted(row) for row in fetched]

    def first(self, connection: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(connection, values)
        return found[0] if found else None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds: dict[str, BindParameter[Any]] = {name: bind for bind, name in compiled.bind_names.items()}
        if any(bind.expanding for bind in binds.values()):
            raise ValueError("a statement with expanding parameters cannot be compiled once")
        if any(bind.literal_execute for bind in binds.values()) or compiled.escaped_bind_names:
            raise ValueError("a statement whose text changes at each execution cannot be compiled once")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a statement whose columns take defaults computed at each execution cannot be "
                             "compiled once: give them values")
        order = compiled.positiontup if compiled.positional else list(binds)
        parameters = []
        for name in order:
            bind = binds[name]
            if bind.callable is not None:
                raise ValueError(f"parameter {name!r} takes its value from a function, at each execution")
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            # A parameter left without a value is the caller's, named by its key; one with a value
            # is the statement's own (the state a compare-and-set expects, say).
            parameters.append((bind.key, None, convert) if bind.required else (None, bind.value, convert))
        columns = list(getattr(self.statement, "exported_columns", ()))
        conversions = []
        for position, column in enumerate(columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                conversions.append((position, convert))
        result = _Compiled(sql=compiled.string, parameters=tuple(parameters),
                           named=None if compiled.positional else tuple(order),
                           returns_rows=bool(columns), conversions=tuple(conversions))
        self._compiled[dialect] = result
        return result

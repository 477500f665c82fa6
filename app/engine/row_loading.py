"""The rows a step's locking read returns, made into the session's loaded rows without the ORM's
loading.

A step begins by locking its workflow's row (and its task's), and the ORM's load of those one or
two rows (its loading context, a row processor, the bookkeeping of a load) costs more than the
query. Here the read is a Core statement of the tables' columns, and each row becomes the session's
row of that identity as the ORM's load with ``populate_existing`` leaves it: every column read is
loaded and unchanged, a column left out loads on first use, and a row the session already holds is
the one refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state

from app.engine.driver_statements import DriverStatement

Row = TypeVar("Row")


class RowLoader(Generic[Row]):
    """Makes rows of one model from the values of :attr:`columns`, in that order."""

    def __init__(self, model: type[Row], left_out: Iterable[str] = ()) -> None:
        mapper = inspect(model)
        self._left_out = frozenset(left_out)
        self.columns: list[Column[Any]] = [column for column in mapper.local_table.columns
                                           if column.key not in self._left_out]
        self._keys = [mapper.get_property_by_column(column).key for column in self.columns]
        (primary_key,) = mapper.primary_key
        self._id_position = self.columns.index(primary_key)
        self._identity_class = mapper._identity_class  # noqa: SLF001 - the identity map's key
        self._new_instance = mapper.class_manager.new_instance
        # What the ORM's load sets for a column a query defers: a loader on first use.
        self._on_first_use = [(key, mapper.attrs[key]._deferred_column_loader)  # noqa: SLF001
                              for key in sorted(self._left_out)]

    def load(self, session: Session, values: Sequence[Any], refresh: bool = True) -> Row:
        """The session's row of these values: one already in the session is refreshed (``refresh``,
        the ORM's ``populate_existing``), or else keeps what it holds and only gains the columns it
        had not loaded (what the ORM's plain load does, so a change it holds is not lost)."""
        identity = (self._identity_class, (values[self._id_position],), None)
        identity_map = session.identity_map
        row: Row | None = identity_map.get(identity)
        if row is not None and not refresh:
            state = instance_state(row)
            loaded = state.dict
            missing = [(key, value) for key, value in zip(self._keys, values, strict=True) if key not in loaded]
            loaded.update(missing)
            state._commit(loaded, [key for key, _ in missing])  # noqa: SLF001 - loaded, not changed
            return row
        if row is None:
            row = self._new_instance()
            state = instance_state(row)
            state.key = identity
            state.identity_token = None
            state.session_id = session.hash_key
            identity_map._add_unpresent(state, identity)  # noqa: SLF001 - as the ORM's load adds it
        else:
            state = instance_state(row)
        loaded = state.dict
        # Relationships are left as they are: the engine links its rows by id and never sets them.
        loaded.update(zip(self._keys, values, strict=True))
        for key, set_loader in self._on_first_use:
            loaded.pop(key, None)
            set_loader(state, loaded, None)
        # Loaded as read: no change to write, nothing expired of what was read.
        state._commit_all(loaded, identity_map)  # noqa: SLF001
        return row


def read_rows(session: Session, statement: DriverStatement, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a statement in the session's transaction, the session's pending changes flushed first as
    its own queries flush them (unless autoflush is off); its rows."""
    if session.autoflush:
        session.flush()
    return statement.rows(session.connection(), parameters)


def read_first(session: Session, statement: DriverStatement, parameters: dict[str, Any]) -> tuple[Any, ...] | None:
    """:func:`read_rows`' first row (None: none)."""
    found = read_rows(session, statement, parameters)
    return found[0] if found else None

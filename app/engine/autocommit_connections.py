"""One autocommit connection per thread and database server, kept for the statements run alone.

A worker claims every action it runs with one statement in autocommit (``transactions.first_row_alone``).
Taken from the pool each time, that statement paid for the checkout and its events, the switch to
autocommit and back, and the checkin with its reset: about as much of the worker's CPU as the
statement itself. The thread keeps its connection instead, in autocommit for good.

A kept connection is detached from the pool (it does not count against the pool's size, which stays
the transactions'), closed when its engine is disposed (so a test or a process that drops its
engine leaves no session behind on the server), and closed by the caller when a statement on it
fails (``forget``): the next statement of the thread connects afresh.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_local = threading.local()
# Every kept connection by engine, so that disposing the engine closes those of all threads.
_kept: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[Connection]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def connection_for(bind: Engine) -> Connection:
    """This thread's autocommit connection to ``bind``, connected on first use."""
    held: dict[int, Connection] = _local.__dict__.setdefault("held", {})
    connection = held.get(id(bind))
    if connection is not None and not connection.closed and not connection.invalidated \
            and connection.engine is bind:
        return connection
    connection = bind.connect()
    # Out of the pool's count: a pool sized for the process's transactions stays theirs.
    connection.detach()
    # On the driver's connection itself, as SQLAlchemy's AUTOCOMMIT does (which a detached
    # connection cannot take: it would undo it at a checkin that never comes).
    connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
    held[id(bind)] = connection
    with _lock:
        if bind not in _kept:
            _kept[bind] = weakref.WeakSet()
            event.listen(bind, "engine_disposed", _close_kept)
        _kept[bind].add(connection)
    return connection


def forget(bind: Engine) -> None:
    """Close this thread's connection to ``bind`` (a statement on it failed)."""
    connection = _local.__dict__.get("held", {}).pop(id(bind), None)
    if connection is not None:
        _close(connection)


def _close_kept(bind: Engine) -> None:
    # Detached: disposing the pool does not close them.
    with _lock:
        connections = list(_kept.get(bind, ()))
        _kept[bind].clear()
    for connection in connections:
        _close(connection)


def _close(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110 - a connection already dead has nothing left to close
        pass

"""One autocommit connection per thread and database server, kept for the statements run alone.

A worker claims every action it runs with one statement in autocommit (``transactions.first_row_alone``).
Taken from the pool each time, that statement paid for the checkout and its events, the switch to
autocommit and back, and the checkin with its reset: about as much of the worker's CPU as the
statement itself. The thread keeps its connection instead, in autocommit for good.

A kept connection is detached from the pool: it does not count against the pool's size, which stays
the transactions', and a kept one found dead does not make the pool reconnect all of its own. It
keeps the pool's habits otherwise: one idle for longer than ``PING_AFTER_IDLE_SECONDS`` or older
than ``RECYCLE_SECONDS`` is replaced before use (where the pool would ping or recycle it), one whose
statement failed is closed (``forget``: the next statement connects afresh), and every one is closed
when its engine is disposed or its thread ends. A forked child drops what it inherited without
closing it (closing would end the parent's sessions).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app import database, forks

_KEPT = "tramontane.kept_autocommit"


@dataclass(eq=False)
class _Held:
    connection: Connection
    driver_connection: Any
    connected_at: float
    used_at: float
    process: int = field(default_factory=forks.generation)

    def usable(self, now: float) -> bool:
        return (not self.driver_connection.closed and not self.connection.invalidated
                and now - self.used_at < database.PING_AFTER_IDLE_SECONDS
                and now - self.connected_at < database.RECYCLE_SECONDS)

    def close(self) -> None:
        if self.process != forks.generation():
            return  # the parent's session: not this process's to end
        try:
            self.driver_connection.close()
        except Exception:  # noqa: BLE001, S110 - a connection already dead has nothing left to close
            pass


class _ThreadKept:
    """A thread's kept connections, by engine; closed when the thread ends."""

    def __init__(self) -> None:
        self.process = forks.generation()
        self.by_engine: dict[int, _Held] = {}

    def __del__(self) -> None:
        for held in self.by_engine.values():
            held.close()


_local = threading.local()
# Every kept connection by engine, so that disposing the engine closes those of all threads.
_by_engine: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[_Held]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _thread_kept() -> _ThreadKept:
    kept: _ThreadKept | None = getattr(_local, "kept", None)
    if kept is None or kept.process != forks.generation():
        kept = _local.kept = _ThreadKept()
    return kept


def connection_for(bind: Engine) -> Connection:
    """This thread's autocommit connection to ``bind``, connected on first use (or again, see above)."""
    kept = _thread_kept()
    now = time.monotonic()
    held = kept.by_engine.get(id(bind))
    if held is not None:
        if held.usable(now):
            held.used_at = now
            return held.connection
        del kept.by_engine[id(bind)]
        held.close()
    connection = bind.connect()
    connection.detach()
    connection.info[_KEPT] = True
    driver_connection = connection.connection.dbapi_connection
    # On the driver's connection itself, which is what SQLAlchemy's AUTOCOMMIT setting does: that
    # setting would also be undone at a checkin, which a detached connection never has.
    driver_connection.autocommit = True  # type: ignore[union-attr]
    held = kept.by_engine[id(bind)] = _Held(connection, driver_connection, now, now)
    with _lock:
        if bind not in _by_engine:
            _by_engine[bind] = weakref.WeakSet()
            event.listen(bind, "engine_disposed", _close_all)
            event.listen(bind, "handle_error", _keep_the_pool)
        _by_engine[bind].add(held)
    return connection


def forget(bind: Engine) -> None:
    """Close this thread's connection to ``bind`` (a statement on it failed or was interrupted)."""
    held = _thread_kept().by_engine.pop(id(bind), None)
    if held is not None:
        held.close()


def _close_all(bind: Engine) -> None:
    # Detached: disposing the pool does not close them.
    with _lock:
        every = list(_by_engine.get(bind, ()))
    for held in every:
        held.close()


def _keep_the_pool(context: Any) -> None:
    # SQLAlchemy takes a dead connection for a sign that the pool's are dead too and has the pool
    # reconnect them all: not for a kept one, which may simply have sat idle too long.
    connection = context.connection
    if connection is not None and connection.info.get(_KEPT):
        context.invalidate_pool_on_disconnect = False

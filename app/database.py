"""Database engine options per backend.

SQLite: WAL journal and a generous busy timeout. Transactions that write are begun with
``BEGIN IMMEDIATE`` (inside :func:`immediate_transactions`), so concurrent writers queue up at the
start instead of failing when a read snapshot turns into a write; plain reads begin deferred, so
they never hold the write lock.

Writers also queue on an ``flock`` of a file beside the database before ``BEGIN IMMEDIATE``: the
kernel hands that lock to the next waiter the moment it is released, where SQLite's own busy
handler polls with sleeps of up to 100 ms. Under a steady stream of writes from several processes
(parallel branches of one workflow) those sleeps grew with the length of the stream.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from app import forks


class _Descriptors:
    """A thread's open descriptors of writers files, by path, closed when the thread ends."""

    def __init__(self) -> None:
        self.process = forks.generation()
        self.by_path: dict[str, int] = {}

    def close(self) -> None:
        for fd in self.by_path.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.by_path.clear()

    def __del__(self) -> None:
        self.close()


class _ThreadDescriptors(threading.local):
    def __init__(self) -> None:
        self.open = _Descriptors()


_THREAD_DESCRIPTORS = _ThreadDescriptors()


def _writers_file(database_path: str) -> int:
    """This thread's descriptor of the database's writers file, opened at its first write.

    An open file description per thread (flock locks conflict between descriptions, so also
    between the threads of one process), kept open: opening and closing it around every
    transaction cost two system calls, each a chance for another thread to take the interpreter
    lock. A forked child opens its own: the descriptions it inherited are its parent's, and would
    share the parent's lock (it closes its copies, which leaves the parent's lock as it is).
    """
    descriptors = _THREAD_DESCRIPTORS.open
    if descriptors.process != forks.generation():
        descriptors.close()
        descriptors.process = forks.generation()
    fd = descriptors.by_path.get(database_path)
    if fd is None:
        fd = os.open(f"{database_path}.writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        descriptors.by_path[database_path] = fd
    return fd


class _WriterLock:
    """The flock a block of write transactions holds, from its first ``BEGIN`` to the block's end."""

    fd: int | None = None

    def take(self, database_path: str) -> None:
        if self.fd is not None:
            return
        fd = _writers_file(database_path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.fd = None


_IMMEDIATE: ContextVar[_WriterLock | None] = ContextVar("sqlite_immediate", default=None)

# An execution option: the SQLite connection runs each statement alone, in the transaction SQLite
# makes for it (committed as the statement ends), without a BEGIN and a COMMIT around it. For one
# write statement, that is two calls to SQLite fewer (the writers file lock is taken all the same
# inside an ``immediate_transactions`` block).
STATEMENT_ALONE = "tramontane_statement_alone"


@contextmanager
def immediate_transactions() -> Iterator[None]:
    """SQLite transactions begun inside this block take the write lock at once (nested blocks share it)."""
    if _IMMEDIATE.get() is not None:
        yield
        return
    lock = _WriterLock()
    token = _IMMEDIATE.set(lock)
    try:
        yield
    finally:
        _IMMEDIATE.reset(token)
        lock.release()


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # Small pools: every gunicorn and Celery process has its own. A worker's connections are not
    # pinged at every checkout (a round trip for each transaction): see configure_pooled_server.
    return {"pool_size": 5, "max_overflow": 5, "pool_recycle": RECYCLE_SECONDS}


# A server connection older than this is replaced (some servers and proxies end long-lived sessions).
RECYCLE_SECONDS = 1800


# A worker's pooled connection unused for longer than this is checked with a round trip before use.
PING_AFTER_IDLE_SECONDS = 10.0


def configure_pooled_server(engine: Engine, ping_every_checkout: bool = False) -> None:
    """Check a server connection before use: after it sat idle in the pool, or at every checkout.

    A connection used moments ago is almost always alive; one that sat idle may have been closed by
    the server or a firewall meanwhile, and is tested (and replaced when dead) as it leaves the
    pool. A connection that dies while in use fails its statement: the engine's transactions retry
    on a fresh one (``app.engine.transactions``). That is all a worker needs, and it saves a round
    trip for each of its transactions. The API pings at every checkout (``ping_every_checkout``):
    its reads and its definition writes are not retried, and without the ping a request would fail
    with a 500 on a connection used just before the database server restarted.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:
            return  # just connected
        if not ping_every_checkout and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            # In autocommit the ping opens no transaction: one round trip, no ROLLBACK after it.
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute("SELECT 1")
                finally:
                    cursor.close()
            finally:
                dbapi_connection.autocommit = autocommit
        except Exception as exc:
            # The pool drops this connection and checks out another.
            raise DisconnectionError(f"pooled connection was dead: {exc}") from exc


def configure_sqlite(engine: Engine) -> None:
    """Take control of SQLite transactions away from the driver; write units begin IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    database_path = engine.url.database
    shared_file = bool(database_path) and database_path != ":memory:"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        lock = _IMMEDIATE.get()
        if lock is not None and shared_file:
            lock.take(str(database_path))
        if connection.get_execution_options().get(STATEMENT_ALONE):
            return
        # Straight to the cursor, as SQLAlchemy runs its own statements (listeners see it, an error
        # comes out wrapped): every write unit begins here, and an execution's own work costs more.
        cursor = connection.connection.cursor()
        # On an error it wraps the error and closes the cursor (or the connection, if it died).
        connection._cursor_execute(cursor, "BEGIN" if lock is None else "BEGIN IMMEDIATE", ())  # noqa: SLF001
        cursor.close()

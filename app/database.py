"""Database engine options per backend.

SQLite: WAL journal and a generous busy timeout. Transactions that write are begun with
``BEGIN IMMEDIATE`` (inside :func:`immediate_transactions`), so concurrent writers queue up at the
start instead of failing when a read snapshot turns into a write; plain reads begin deferred, so
they never hold the write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_IMMEDIATE: ContextVar[bool] = ContextVar("sqlite_immediate", default=False)


@contextmanager
def immediate_transactions() -> Iterator[None]:
    """SQLite transactions begun inside this block take the write lock at once."""
    token = _IMMEDIATE.set(True)
    try:
        yield
    finally:
        _IMMEDIATE.reset(token)


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # Small pools: every gunicorn and Celery process has its own.
    return {"pool_size": 5, "max_overflow": 5, "pool_pre_ping": True, "pool_recycle": 1800}


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

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _IMMEDIATE.get() else "BEGIN")

"""Holding what a writer would wait for, to show that some work never waits for writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask
from sqlalchemy import text

from app.database import immediate_transactions
from app.extensions import db

T = TypeVar("T")
WAIT_LIMIT_SECONDS = 20


@contextmanager
def writer_lock_held(flask_app: Flask, tables: tuple[str, ...]) -> Iterator[None]:
    """Another connection holds SQLite's write lock, or on PostgreSQL an exclusive lock on ``tables``."""
    with flask_app.app_context():
        engine = db.engine
        with immediate_transactions(), engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE"))
            else:
                connection.execute(text("SELECT 1"))  # begins IMMEDIATE: the database's write lock
            try:
                yield
            finally:
                connection.rollback()


def run_while_writers_locked_out(flask_app: Flask, tables: tuple[str, ...], work: Callable[[], T]) -> T:
    """``work``'s result, run in a thread of its own (its own connection) while the lock is held;
    fails if it waits for the lock."""
    results: list[T] = []

    def run() -> None:
        with flask_app.app_context():
            results.append(work())

    with writer_lock_held(flask_app, tables):
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(WAIT_LIMIT_SECONDS)
        assert not thread.is_alive(), f"{work} waited for the write lock"
    assert results, f"{work} failed (see the thread's exception above)"
    return results[0]

"""SQLite writers queue on a file lock before BEGIN IMMEDIATE, and a nested block never waits on itself."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app.database import configure_sqlite, engine_options, immediate_transactions


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    engine = create_engine(url, **engine_options(url))
    configure_sqlite(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (name TEXT, at REAL)"))
    return engine


def test_a_writer_waits_while_another_holds_the_file_lock(engine: Engine, tmp_path: Path) -> None:
    holder = os.open(tmp_path / "lock.db.writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    began = threading.Event()

    def writer() -> None:
        with immediate_transactions(), engine.begin() as connection:
            began.set()
            connection.execute(text("INSERT INTO events VALUES ('writer', 0)"))

    thread = threading.Thread(target=writer)
    thread.start()
    # SQLite itself is free: only the file lock holds the writer back.
    assert not began.wait(0.5)
    os.close(holder)
    assert began.wait(10)
    thread.join(10)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 1


def test_nested_blocks_and_successive_transactions_share_one_lock(engine: Engine) -> None:
    finished = threading.Event()

    def nested() -> None:
        with immediate_transactions():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES ('outer', 0)"))
            with immediate_transactions(), engine.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES ('inner', 0)"))
        finished.set()

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    assert finished.wait(10), "a block waited on the lock it already held"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 2

"""SQLite writers queue on a file lock before BEGIN IMMEDIATE, and a nested block never waits on itself."""

from __future__ import annotations

import fcntl
import os
import select
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


_OPEN = os.open


def _can_lock_now(path: Path) -> bool:
    """Whether another open file description would get the lock at once."""
    probe = _OPEN(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(probe)


def test_a_thread_opens_the_lock_file_once_and_releases_the_lock_after_each_block(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_open = os.open

    def counted_open(path: str, *args: object) -> int:
        if str(path).endswith(".writers"):
            opened.append(str(path))
        return real_open(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counted_open)

    lockable: list[tuple[str, bool]] = []

    def writes() -> None:
        for index in range(5):
            with immediate_transactions(), engine.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES ('w', :at)"), {"at": index})
                lockable.append(("inside", _can_lock_now(tmp_path / "lock.db.writers")))
            lockable.append(("after", _can_lock_now(tmp_path / "lock.db.writers")))

    thread = threading.Thread(target=writes)
    thread.start()
    thread.join(10)
    assert opened == [str(tmp_path / "lock.db.writers")]
    assert lockable == [("inside", False), ("after", True)] * 5


def test_the_threads_of_one_process_exclude_each_other(engine: Engine) -> None:
    inside = threading.Event()
    leave = threading.Event()
    second_in = threading.Event()

    def first() -> None:
        with immediate_transactions():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES ('first', 0)"))
            # Committed: SQLite is free, only the block's file lock is held.
            inside.set()
            leave.wait(10)

    def second() -> None:
        with immediate_transactions(), engine.begin() as connection:
            second_in.set()
            connection.execute(text("INSERT INTO events VALUES ('second', 0)"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert inside.wait(10)
    threads[1].start()
    assert not second_in.wait(0.5)
    leave.set()
    assert second_in.wait(10)
    for thread in threads:
        thread.join(10)


def test_a_forked_child_does_not_share_its_parents_lock(engine: Engine) -> None:
    # The parent's thread has its descriptor open (kept after its block) when it forks.
    with immediate_transactions(), engine.begin() as connection:
        connection.execute(text("INSERT INTO events VALUES ('parent', 0)"))
    go_read, go_write = os.pipe()
    done_read, done_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 0
        try:
            os.read(go_read, 1)
            engine.dispose(close=False)
            with immediate_transactions(), engine.begin() as child_connection:
                child_connection.execute(text("INSERT INTO events VALUES ('child', 1)"))
            os.write(done_write, b"in")
        except BaseException as exc:  # noqa: BLE001
            os.write(done_write, repr(exc).encode()[:200])
            code = 1
        os._exit(code)
    try:
        with immediate_transactions():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES ('parent', 2)"))
            # Committed: SQLite is free, only the block's file lock is held.
            os.write(go_write, b"g")
            readable, _, _ = select.select([done_read], [], [], 0.5)
            assert readable == [], "the child wrote while its parent held the lock"
        # The parent's block ended: the child gets the lock.
        readable, _, _ = select.select([done_read], [], [], 10)
        assert readable == [done_read]
        assert os.read(done_read, 200) == b"in"
    finally:
        _, status = os.waitpid(child, 0)
        for fd in (go_read, go_write, done_read, done_write):
            os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_statement_run_alone_waits_for_the_file_lock_and_is_committed_as_it_ends(
        engine: Engine, tmp_path: Path) -> None:
    from sqlalchemy import String, column
    from sqlalchemy.orm import Session

    from app.engine.driver_statements import DriverStatement
    from app.engine.transactions import first_row_alone

    holder = os.open(tmp_path / "lock.db.writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    returned: list[object] = []

    def claim() -> None:
        with Session(engine) as session:
            returned.append(first_row_alone(
                session, DriverStatement(text("INSERT INTO events VALUES ('alone', 1) RETURNING name")
                                         .columns(column("name", String))), {}))

    thread = threading.Thread(target=claim)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and returned == []
    os.close(holder)
    thread.join(10)
    assert returned == [("alone",)]
    # Committed: another connection sees it, and the writers file lock is free again.
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events WHERE name = 'alone'")).scalar() == 1
    assert _can_lock_now(tmp_path / "lock.db.writers")

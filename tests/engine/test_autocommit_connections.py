"""The autocommit connection a thread keeps for the statements it runs alone (a worker's claims):
one per thread, out of the pool, replaced when it failed or sat idle, closed with its engine and
with its thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app import database
from app.engine import autocommit_connections, transactions
from app.engine.driver_statements import DriverStatement
from app.extensions import db, session
from tests.support.dead_connections import (
    BACKEND_PID,
    backend_pid_alone,
    forget_kept_connection,
    pids_of_pooled_connections,
)

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture(autouse=True)
def _no_dead_kept_connection_left(engine_app: Flask) -> Iterator[None]:
    yield
    forget_kept_connection(engine_app)


def _pid_on(engine: Engine) -> int:
    with Session(engine) as other:
        return int(transactions.first_row_alone(other, BACKEND_PID, {})[0])


@contextmanager
def _held_in_another_thread(call: Callable[[], int]) -> Iterator[int]:
    """``call``'s answer in a thread kept alive until the block ends (its kept connection with it)."""
    answer: list[int] = []
    done, release = threading.Event(), threading.Event()

    def run() -> None:
        try:
            answer.append(call())
        finally:
            done.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=run)
    thread.start()
    done.wait(timeout=30)
    try:
        yield answer[0]
    finally:
        release.set()
        thread.join(timeout=30)


def _alive(url: URL, pids: list[int]) -> list[int]:
    outside = create_engine(url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            return sorted(connection.execute(text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                             {"pids": pids}).scalars())
    finally:
        outside.dispose()


def _gone(url: URL, pids: list[int]) -> bool:
    # The server ends a session once it reads the closed socket: a moment after the close.
    for _ in range(100):
        if not _alive(url, pids):
            return True
        threading.Event().wait(0.05)
    return False


def _terminate(pid: int) -> None:
    outside = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        outside.dispose()


def test_a_thread_runs_its_statements_alone_on_one_connection_of_its_own(driver: object) -> None:
    session().commit()
    checked_out = db.engine.pool.checkedout()  # type: ignore[attr-defined]
    first = backend_pid_alone()
    checkouts: list[object] = []

    def checked_out_one(*args: object) -> None:
        checkouts.append(args)

    event.listen(db.engine, "checkout", checked_out_one)
    try:
        second = backend_pid_alone()
    finally:
        event.remove(db.engine, "checkout", checked_out_one)
    assert first == second
    # Nothing taken from the pool for it, and nothing of the pool's held.
    assert checkouts == []
    assert db.engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]
    engine = db.engine
    with _held_in_another_thread(lambda: _pid_on(engine)) as other_thread:
        assert other_thread != first
    # Autocommit: nothing of the statement is left open on the connection.
    driver_connection = autocommit_connections.connection_for(db.engine).connection.dbapi_connection
    assert driver_connection.autocommit and not driver_connection.info.transaction_status  # type: ignore[union-attr]


def test_a_statement_that_failed_closes_the_connection(driver: object) -> None:
    before = backend_pid_alone()
    broken = DriverStatement(select(func.no_such_function()))
    with pytest.raises(DBAPIError, match="no_such_function"):
        transactions.first_row_alone(session(), broken, {})
    assert _gone(db.engine.url, [before])
    # The next statement runs, on a new connection.
    assert backend_pid_alone() != before


def test_a_server_that_ended_the_connection_costs_a_retry_and_nothing_of_the_pool(driver: object) -> None:
    # Kept first: connecting it takes a connection of the pool (and detaches it).
    before = backend_pid_alone()
    db.session.remove()
    pooled = pids_of_pooled_connections()
    _terminate(before)
    assert backend_pid_alone() != before
    # The pool's connections were not taken for dead as well: each checked out again (one of them
    # may now be the kept one), none was replaced.
    pids_of_pooled_connections()
    assert _alive(db.engine.url, pooled) == sorted(pooled)


def test_a_connection_that_sat_idle_is_replaced_before_use(driver: object, monkeypatch: pytest.MonkeyPatch) -> None:
    before = backend_pid_alone()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    after = backend_pid_alone()
    assert after != before
    assert _gone(db.engine.url, [before])


def test_disposing_the_engine_or_ending_the_thread_closes_the_connections(driver: object) -> None:
    engine: Engine = create_engine(db.engine.url)
    try:
        mine = _pid_on(engine)
        with _held_in_another_thread(lambda: _pid_on(engine)) as theirs:
            assert _alive(engine.url, [mine, theirs]) == sorted([mine, theirs])
            engine.dispose()
            assert _gone(engine.url, [mine, theirs])
        # The next statement of the thread connects again.
        assert _pid_on(engine) not in (mine, theirs)
        with _held_in_another_thread(lambda: _pid_on(engine)) as ended:
            assert _alive(engine.url, [ended]) == [ended]
        assert _gone(engine.url, [ended])
    finally:
        engine.dispose()

"""The autocommit connection a thread keeps for the statements it runs alone (a worker's claims):
one per thread, replaced when it fails, closed with its engine."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.engine import autocommit_connections, transactions
from app.engine.driver_statements import DriverStatement
from app.extensions import db, session
from tests.support.dead_connections import BACKEND_PID, backend_pid_alone

pytestmark = pytest.mark.usefixtures("postgres_only")

def _pid_on(engine: Engine) -> int:
    with Session(engine) as other:
        return int(transactions.first_row_alone(other, BACKEND_PID, {})[0])


def _in_a_thread(call: Callable[[], int]) -> int:
    answer: list[int] = []
    thread = threading.Thread(target=lambda: answer.append(call()))
    thread.start()
    thread.join(timeout=30)
    return answer[0]


def _alive(url: URL, pids: list[int]) -> list[int]:
    outside = create_engine(url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            return sorted(connection.execute(text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                             {"pids": pids}).scalars())
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
    # Nothing taken from the pool for it.
    assert checkouts == []
    # Kept out of the pool: the pool's connections stay the transactions'.
    assert db.engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]
    engine = db.engine
    other_thread = _in_a_thread(lambda: _pid_on(engine))
    assert other_thread != first
    # Autocommit: nothing of the statement is left open on the connection.
    assert not autocommit_connections.connection_for(db.engine).connection.dbapi_connection.info.transaction_status
    assert autocommit_connections.connection_for(db.engine).connection.dbapi_connection.autocommit


def test_a_statement_that_failed_lets_go_of_the_connection(driver: object) -> None:
    kept = autocommit_connections.connection_for(db.engine)
    broken = DriverStatement(select(func.no_such_function()))
    with pytest.raises(DBAPIError, match="no_such_function"):
        transactions.first_row_alone(session(), broken, {})
    assert kept.closed
    # The next statement runs, on a connection in autocommit again.
    assert backend_pid_alone() > 0
    again = autocommit_connections.connection_for(db.engine)
    assert again is not kept and again.connection.dbapi_connection.autocommit


def test_a_server_that_ended_the_connection_costs_a_retry_on_a_fresh_one(driver: object) -> None:
    before = backend_pid_alone()
    outside = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before}).scalar_one()
    finally:
        outside.dispose()
    after = backend_pid_alone()
    assert after != before


def test_disposing_the_engine_closes_the_connections_of_every_thread(driver: object) -> None:
    engine: Engine = create_engine(db.engine.url)
    mine = _pid_on(engine)
    theirs = _in_a_thread(lambda: _pid_on(engine))
    assert _alive(engine.url, [mine, theirs]) == sorted([mine, theirs])
    engine.dispose()
    # The server ends a session once it reads the closed socket: a moment after the close.
    looks = 100
    while _alive(engine.url, [mine, theirs]) and looks:
        looks -= 1
        threading.Event().wait(0.05)
    assert _alive(engine.url, [mine, theirs]) == []
    # The next statement of the thread connects again.
    assert _pid_on(engine) not in (mine, theirs)
    engine.dispose()

"""Have the database server end the connections a process holds, as a server restart does: the
pool's, and the autocommit connection the thread keeps for its claims."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from app.engine import autocommit_connections
from app.engine.driver_statements import DriverStatement
from app.engine.transactions import first_row_alone
from app.extensions import db

BACKEND_PID = DriverStatement(select(func.pg_backend_pid()))


def backend_pid_alone() -> int:
    """The server session of the connection this thread runs its statements alone on (a claim's)."""
    return int(first_row_alone(db.session(), BACKEND_PID, {})[0])


def pids_of_pooled_connections() -> list[int]:
    """The server sessions of every connection the pool holds idle (each checked out once)."""
    held = [db.engine.raw_connection() for _ in range(max(1, db.engine.pool.checkedin()))]
    try:
        pids = []
        for connection in held:
            cursor = connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(int(cursor.fetchone()[0]))
            cursor.close()
            connection.commit()
        return pids
    finally:
        for connection in held:
            connection.close()


def end_pooled_connections() -> None:
    """Have the server end the pool's connections and this thread's kept autocommit one, from a
    connection outside the pool: the process still holds them as it left them."""
    db.session.remove()
    # The kept connection first: connecting it may take one of the pool's.
    kept = backend_pid_alone()
    pids = sorted({kept, *pids_of_pooled_connections()})
    outside = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            ended = connection.execute(text("SELECT count(*) FROM unnest(CAST(:pids AS int[])) AS pid "
                                            "WHERE pg_terminate_backend(pid)"), {"pids": pids}).scalar_one()
    finally:
        outside.dispose()
    assert ended == len(pids) >= 1


def forget_kept_connection(app: Flask) -> None:
    """Close this thread's kept autocommit connection, which a test may have left dead: the next
    test's first claim would otherwise pay a retry (and show it in what it counts)."""
    with app.app_context():
        autocommit_connections.forget(db.engine)

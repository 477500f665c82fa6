"""Have the database server end the connections a pool holds, as a server restart does."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.extensions import db


def _pids_of_pooled_connections() -> list[int]:
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
    """Have the server end the pool's connections, from a connection outside the pool: the pool
    still holds them as it left them."""
    db.session.remove()
    pids = _pids_of_pooled_connections()
    outside = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with outside.connect() as connection:
            ended = connection.execute(text("SELECT count(*) FROM unnest(CAST(:pids AS int[])) AS pid "
                                            "WHERE pg_terminate_backend(pid)"), {"pids": pids}).scalar_one()
    finally:
        outside.dispose()
    assert ended == len(pids) >= 1

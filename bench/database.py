"""The benchmark's database: a fresh SQLite file, or a PostgreSQL database of its own.

On PostgreSQL the benchmark never touches the database named in ``--database-url``: it connects
there only to create ``tramontane_bench`` (or ``--bench-database``) and marks it with a comment.
A database of that name without the mark is refused, so nothing the benchmark did not create is
ever dropped.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

MARKER = "created by Tramontane's benchmark (python -m bench), which drops and re-creates it"
DEFAULT_NAME = "tramontane_bench"


class BenchDatabaseError(RuntimeError):
    pass


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'bench.db'}"


def is_postgres(url: str) -> bool:
    return url.split("+", 1)[0].split(":", 1)[0] in ("postgres", "postgresql")


def _libpq_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


class PostgresDatabase:
    # The comment that marks a database as ours to drop; another owner (a test) gives its own.
    marker = MARKER
    owner = "the benchmark"

    def __init__(self, server_url: str, name: str = DEFAULT_NAME) -> None:
        self.server_url = server_url
        self.name = name

    @property
    def url(self) -> str:
        return _libpq_url(self.server_url, self.name)

    def _admin(self) -> psycopg.Connection:
        # CREATE / DROP DATABASE cannot run inside a transaction, nor drop the connected database.
        given = make_url(self.server_url).database
        admin_url = _libpq_url(self.server_url, "postgres" if given == self.name else None)
        return psycopg.connect(admin_url, autocommit=True)

    def create(self) -> str:
        """(Re-)create the bench database empty and return its URL."""
        with self._admin() as admin:
            self._drop_if_ours(admin)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(self.name), sql.Literal(self.marker)))
        return self.url

    def drop(self) -> None:
        with self._admin() as admin:
            self._drop_if_ours(admin)

    def _drop_if_ours(self, admin: psycopg.Connection) -> None:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (self.name,)
        ).fetchone()
        if row is None:
            return
        if row[0] != self.marker:
            raise BenchDatabaseError(
                f"database {self.name!r} exists and was not created by {self.owner}; "
                "choose another name with --bench-database"
            )
        # FORCE ends connections a killed earlier run may have left behind.
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.name)))

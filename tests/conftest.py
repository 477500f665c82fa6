"""Shared fixtures: a test Redis, a test database, and one live stack per run.

The suite never touches a Redis or database the user already runs: it starts its own Redis on a
free port and uses a SQLite file in a temporary folder, unless ``TEST_REDIS_URL`` or
``TEST_DATABASE_URL`` name others. With ``TEST_DATABASE_URL`` pointing at PostgreSQL the same
suite runs on PostgreSQL; tests marked for one backend are deselected on the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.config import Settings, normalize_database_url
from app.dbtools import upgrade_database
from app.embedded_redis import EmbeddedRedis
from tests.support.stack import LiveStack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    url = os.environ.get("TEST_DATABASE_URL", "sqlite")
    # Browser tests test the pages, not the store: they run on SQLite only, like sqlite_only ones.
    others = ("sqlite_only", "browser") if url.startswith("postgres") else ("postgresql_only",)

    def elsewhere(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(name) for name in others)

    deselected = [item for item in items if elsewhere(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not elsewhere(item)]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tramontane-data")


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedRedis(data_dir / "test-redis", persistent=False)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> str:
    url = normalize_database_url(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{data_dir / 'test.db'}")
    if url.startswith("postgresql"):
        _drop_all_tables(url)
    return url


def _drop_all_tables(url: str) -> None:
    """Start from an empty schema on the test database named by TEST_DATABASE_URL."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


@pytest.fixture()
def postgres_only(database_url: str) -> None:
    """For tests of what only the database server has: its connections, its combined statements."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: what is tested (server connections, combined statements) has no SQLite form")


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str, redis_url: str) -> Settings:
    env = {
        "TRAMONTANE_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "INFO",
    }
    settings = Settings.from_env(env)
    upgrade_database(settings)
    return settings


@pytest.fixture(scope="session")
def stack(settings: Settings, data_dir: Path) -> Iterator[LiveStack]:
    """API (gunicorn), Celery worker and scheduler as real processes, shared by the whole run."""
    live = LiveStack(settings, data_dir / "stack")
    live.start()
    try:
        yield live
    finally:
        live.stop()

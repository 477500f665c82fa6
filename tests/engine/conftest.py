"""The engine tier: the real engine in-process on the test database, without broker, worker or clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.config import Settings
from app.dbtools import upgrade_database
from app.engine.dispatch import CollectingDispatcher
from app.factory import create_app
from tests.engine.driver import EngineDriver
from tests.engine.state_writes import StateWrites, watched


@pytest.fixture(scope="session")
def engine_settings(data_dir: Path, database_url: str) -> Settings:
    """The suite's database (SQLite file or TEST_DATABASE_URL), and no Redis: nothing here sends."""
    settings = Settings.from_env({"TRAMONTANE_DATA_DIR": str(data_dir), "DATABASE_URL": database_url})
    upgrade_database(settings)
    return settings


@pytest.fixture(scope="session")
def engine_app(engine_settings: Settings) -> Flask:
    # Each driver hands its own dispatcher to the engine; the application's is never used.
    return create_app(engine_settings, dispatcher=CollectingDispatcher(), serve_api=False)


@pytest.fixture()
def driver(engine_app: Flask, engine_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineDriver]:
    with engine_app.app_context():
        started = EngineDriver(engine_settings, monkeypatch)
        try:
            yield started
        finally:
            started.cleanup()


@pytest.fixture(autouse=True)
def every_state_write_is_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[StateWrites]:
    """Every engine test also checks that each state it flushed went through the transition gate."""
    with watched(monkeypatch) as writes:
        yield writes
    assert writes.unchecked == [], "states written past StateChanges (unchecked by the tables)"
    assert writes.refused == [], "illegal transitions tried by the engine"

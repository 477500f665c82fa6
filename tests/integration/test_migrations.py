"""The Alembic migrations build exactly the schema app/models.py describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.config import Settings
from app.extensions import db


def test_the_upgraded_database_matches_the_models(settings: Settings) -> None:
    # `settings` ran `tramontane db upgrade` on the test database.
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    finally:
        engine.dispose()
    assert differences == [], "app/models.py changed without a migration: " + repr(differences)

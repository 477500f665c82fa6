"""Creating and upgrading the database schema (Alembic through Flask-Migrate)."""

from __future__ import annotations

from app.config import Settings
from app.factory import MIGRATIONS_DIR, create_app


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest revision; safe to run on every start."""
    from flask_migrate import upgrade  # only here: the serving processes never load Alembic

    flask_app = create_app(settings, migrations=True)
    with flask_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))

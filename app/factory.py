"""The Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from app import logs, metrics
from app.config import Settings
from app.database import configure_pooled_server, configure_sqlite, engine_options
from app.engine import expression_limits, state_log
from app.engine.dispatch import Dispatcher
from app.extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DISPATCHER_KEY = "tramontane.dispatcher"


def create_app(settings: Settings, config: dict[str, Any] | None = None,
               dispatcher: Dispatcher | None = None, migrations: bool = False, serve_api: bool = True) -> Flask:
    """Build the Flask application. Nothing touches the database here: see ``tramontane db upgrade``.

    ``settings`` are the process's, built by its entry point (app.wsgi, the worker's Celery app, the
    ``tramontane`` commands).

    ``dispatcher`` sends the engine's messages after each commit (Celery in production).
    ``migrations`` adds Flask-Migrate (the ``flask db`` commands); the serving processes do without
    it, as Alembic costs each of them memory for nothing. ``serve_api`` registers the REST API: the
    workers and the scheduler use the application for its database only, and skip it.
    """
    expression_limits.set_time_limit(settings.expression_time_limit_seconds)
    flask_app = Flask(__name__)
    flask_app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        TRAMONTANE=settings,
    )
    flask_app.config.update(config or {})
    flask_app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.configure(settings.log_level, settings.log_format)
    # Only with a Redis of the deployment's: an in-process test without one records nothing.
    metrics.configure(settings.broker_url if settings.redis_url else None)
    state_log.subscribe(metrics.on_state_change)
    for warning in settings.startup_warnings:
        logging.getLogger("app").warning(warning)
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.init_app(flask_app)
    if migrations:
        from flask_migrate import Migrate

        Migrate(flask_app, db, directory=str(MIGRATIONS_DIR))
    flask_app.extensions[DISPATCHER_KEY] = dispatcher
    with flask_app.app_context():
        if settings.database_url.startswith("sqlite"):
            configure_sqlite(db.engine)
        else:
            # The API's requests are not retried whole; the engine's units are (see the function).
            configure_pooled_server(db.engine, ping_every_checkout=serve_api)
    if serve_api:
        from app.api import register_api

        register_api(flask_app)
    return flask_app


def create_migration_app() -> Flask:
    """For ``FLASK_APP=app.factory:create_migration_app flask db ...`` (generating revisions): the
    entry point of that process."""
    return create_app(Settings.from_env(), migrations=True)

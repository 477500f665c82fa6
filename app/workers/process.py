"""What one worker process builds once from its settings and shares between the tasks it runs."""

from __future__ import annotations

from celery import Celery

from app.config import Settings
from app.extensions import db
from app.factory import create_app
from app.workers.dispatch import CeleryDispatcher
from app.workers.heartbeat import Heartbeat


class WorkerProcess:
    def __init__(self, celery: Celery, settings: Settings) -> None:
        self.settings = settings
        # Shared by the pool's threads: its Redis client holds a thread-safe pool.
        self.dispatcher = CeleryDispatcher(celery)
        self.flask_app = create_app(settings, dispatcher=self.dispatcher, serve_api=False)
        with self.flask_app.app_context():
            self.heartbeat = Heartbeat(db.engine, settings.worker_heartbeat_seconds)

    def after_fork(self) -> None:
        """In a pool process forked from the worker's main one: connections are not shared across a fork."""
        with self.flask_app.app_context():
            db.engine.dispose(close=False)

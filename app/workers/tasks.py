"""Celery tasks: ids in, the database decides, the engine does the work."""

from __future__ import annotations

import json
from typing import Any

from celery.signals import worker_process_init

from app.config import Settings
from app.engine.service import Engine
from app.extensions import db, session
from app.factory import create_app
from app.workers import executor, notifier
from app.workers.celery_app import celery
from app.workers.dispatch import CONTINUE_AFTER_ACTION, CONTINUE_PARENT, NOTIFY, RUN_ACTION, CeleryDispatcher
from app.workers.heartbeat import Heartbeat

settings = Settings.from_env()
# One per process, shared by the pool's threads: its Redis client holds a thread-safe pool.
dispatcher = CeleryDispatcher(celery)
flask_app = create_app(settings, dispatcher=dispatcher, serve_api=False)


with flask_app.app_context():
    heartbeat = Heartbeat(db.engine, settings.worker_heartbeat_seconds)


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # Connections must not be shared with the parent process after the fork.
    with flask_app.app_context():
        db.engine.dispose(close=False)
    heartbeat.start()


def _engine() -> Engine:
    return Engine(session(), dispatcher)


class ActionFailed(Exception):
    """Raised after a failed action's result is recorded, so Celery (and Flower) count the task as
    failed; an expected failure, logged by Celery without a traceback."""


@celery.task(name=RUN_ACTION, throws=(ActionFailed,))
def run_action(action_execution_id: str) -> None:
    with flask_app.app_context():
        heartbeat.start()
        outcome = executor.run_action(session(), _engine(), settings, action_execution_id, heartbeat)
    if outcome is not None and outcome.is_error():
        raise ActionFailed(_summary(outcome.error))


def _summary(error: Any) -> str:
    text = error if isinstance(error, str) else json.dumps(error, default=str)
    return text if len(text) <= 500 else text[:497] + "..."


@celery.task(name=CONTINUE_AFTER_ACTION)
def continue_after_action(action_execution_id: str) -> None:
    with flask_app.app_context():
        _engine().continue_after_action(action_execution_id)


@celery.task(name=CONTINUE_PARENT)
def continue_parent(workflow_execution_id: str) -> None:
    with flask_app.app_context():
        _engine().continue_parent(workflow_execution_id)


@celery.task(name=NOTIFY)
def notify(url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
    notifier.deliver(settings, url, headers, body)

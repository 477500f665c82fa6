"""Celery tasks: ids in, the database decides, the engine does the work."""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.signals import worker_process_init

from app.config import Settings
from app.engine.service import Engine
from app.extensions import db, session
from app.factory import create_app
from app.workers import continuation, executor, notifier
from app.workers.celery_app import celery
from app.workers.continuation import HoldingDispatcher
from app.workers.dispatch import CONTINUE_AFTER_ACTION, CONTINUE_PARENT, NOTIFY, RUN_ACTION, CeleryDispatcher
from app.workers.heartbeat import Heartbeat

settings = Settings.from_env()
flask_app = create_app(settings, dispatcher=CeleryDispatcher(celery), serve_api=False)


with flask_app.app_context():
    heartbeat = Heartbeat(db.engine, settings.worker_heartbeat_seconds)


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # Connections must not be shared with the parent process after the fork.
    with flask_app.app_context():
        db.engine.dispose(close=False)
    heartbeat.start()


def _engine() -> Engine:
    return Engine(session(), CeleryDispatcher(celery))


@celery.task(name=RUN_ACTION, bind=True)
def run_action(self: Task, action_execution_id: str) -> None:
    def run_one(action_id: str, holding: HoldingDispatcher) -> None:
        executor.run_action(session(), Engine(session(), holding), settings, action_id, heartbeat)

    default_queue = celery.conf.task_default_queue
    queue = (self.request.delivery_info or {}).get("routing_key") or default_queue
    with flask_app.app_context():
        heartbeat.start()
        # The next action of the same workflow usually runs here too, without a broker hop.
        holding = HoldingDispatcher(CeleryDispatcher(celery), queue, default_queue)
        continuation.run_chain(action_execution_id, run_one, holding)


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

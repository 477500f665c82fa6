"""Celery tasks: ids in, the database decides, the engine does the work.

Each task runs in the worker's Flask application context (:class:`~app.workers.app_context.AppContextTask`,
the app's task class), with what the process built once from its settings
(:class:`~app.workers.process.WorkerProcess`).
"""

from __future__ import annotations

import json
from typing import Any

from celery.signals import worker_init, worker_process_init

from app.engine.service import Engine
from app.extensions import session
from app.workers import executor, notifier
from app.workers.celery_app import celery
from app.workers.heartbeat import beat_while_running
from app.workers.task_names import CONTINUE_AFTER_ACTION, CONTINUE_PARENT, NOTIFY, RUN_ACTION, RUN_INLINE

beat_while_running(RUN_ACTION)


@worker_init.connect
def _build_before_the_pool_starts(**_: Any) -> None:
    # In the worker's main process, so the pool's processes inherit it rather than each build one.
    celery.process  # noqa: B018 - building it is the point


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    celery.process.after_fork()


def _engine() -> Engine:
    return Engine(session(), celery.process.dispatcher)


class ActionFailed(Exception):
    """Raised after a failed action's result is recorded, so Celery (and Flower) count the task as
    failed; an expected failure, logged by Celery without a traceback."""


@celery.task(name=RUN_ACTION, throws=(ActionFailed,))
def run_action(action_execution_id: str) -> None:
    outcome = executor.run_action(session(), _engine(), celery.process.settings, action_execution_id,
                                  celery.process.heartbeat)
    if outcome is not None and outcome.is_error():
        raise ActionFailed(_summary(outcome.error))


def _summary(error: Any) -> str:
    text = error if isinstance(error, str) else json.dumps(error, default=str)
    return text if len(text) <= 500 else text[:497] + "..."


@celery.task(name=CONTINUE_AFTER_ACTION)
def continue_after_action(action_execution_id: str) -> None:
    _engine().continue_after_action(action_execution_id)


@celery.task(name=RUN_INLINE)
def run_inline(workflow_execution_id: str, action_execution_ids: list[str]) -> None:
    _engine().run_inline(workflow_execution_id, action_execution_ids)


@celery.task(name=CONTINUE_PARENT)
def continue_parent(workflow_execution_id: str) -> None:
    _engine().continue_parent(workflow_execution_id)


@celery.task(name=NOTIFY)
def notify(url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
    notifier.deliver(celery.process.settings, url, headers, body)

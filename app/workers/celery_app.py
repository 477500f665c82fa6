"""The Celery application; workers run ``celery -A app.workers.celery_app:celery worker``."""

from __future__ import annotations

import inspect
import os
from functools import cached_property
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from celery.signals import setup_logging

from app import logs
from app.workers.embedded_scheduler import WORKER_OPTION, EmbeddedScheduler
from app.workers.liveness import WorkerLiveness
from app.workers.task_counts import TaskCountFolding

_PARAMETERS = inspect.signature(AMQP.as_task_v2).replace(
    parameters=list(inspect.signature(AMQP.as_task_v2).parameters.values())[1:])


class ShadowedSentEvents(AMQP):
    """The 'task-sent' event carries a task's shadow name, as its 'task-received' event does.

    Flower keeps the name of whichever event it applies last, and the two come from different
    processes: without this an action could show as ``tramontane.run_action``.
    """

    def as_task_v2(self, task_id: str, name: str, *args: Any, **kwargs: Any) -> Any:
        message = super().as_task_v2(task_id, name, *args, **kwargs)
        # Celery passes the shadow name by position or by keyword, depending on the caller.
        shadow = _PARAMETERS.bind(task_id, name, *args, **kwargs).arguments.get("shadow")
        if shadow and message.sent_event is not None:
            message.sent_event["name"] = shadow
        return message


class TramontaneCelery(Celery):
    amqp_cls = "app.workers.celery_app:ShadowedSentEvents"

    @cached_property
    def Worker(self) -> Any:  # noqa: N802 - Celery's name
        return self.subclass_with_self("app.workers.node_name:UniquelyNamedWorker")


celery = TramontaneCelery("tramontane")
celery.config_from_object("celeryconfig")
celery.conf.imports = ("app.workers.tasks",)
celery.user_options["worker"].add(WORKER_OPTION)
celery.steps["worker"].add(EmbeddedScheduler)
celery.steps["worker"].add(TaskCountFolding)
celery.steps["worker"].add(WorkerLiveness)


@setup_logging.connect
def _same_logging_as_every_process(loglevel: Any = None, **_: Any) -> None:
    # Connected, so Celery leaves logging to us: the worker and Flower log as the API does.
    level = loglevel if isinstance(loglevel, int) else str(loglevel or os.environ.get("LOG_LEVEL") or "INFO").upper()
    logs.configure(level, logs.log_format())


logs.configure((os.environ.get("LOG_LEVEL") or "INFO").upper(), logs.log_format())

"""The Celery application; workers run ``celery -A app.workers.celery_app:celery worker``."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from app import logs
from app.workers.embedded_scheduler import WORKER_OPTION, EmbeddedScheduler
from app.workers.liveness import WorkerLiveness
from app.workers.task_counts import TaskCountFolding


class TramontaneCelery(Celery):
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

"""The Celery application; workers run ``celery -A app.workers.celery_app:celery worker``.

Importing this module reads no environment and builds nothing: the Celery app takes its settings
when it is first configured. An entry point that built its :class:`Settings` (the API, the
scheduler) hands them over with :meth:`TramontaneCelery.use_settings`; under the ``celery`` command
(a worker, Flower) the app builds them from the environment itself, once, as the command starts.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import setup_logging, user_preload_options
from click import Choice, Option

import celeryconfig
from app import logs
from app.config import Settings
from app.workers.embedded_scheduler import WORKER_OPTION, EmbeddedScheduler
from app.workers.event_batching import BatchedTaskEvents
from app.workers.liveness import WorkerLiveness
from app.workers.task_counts import TaskCountFolding

if TYPE_CHECKING:
    from app.workers.process import WorkerProcess

TASKS_MODULE = "app.workers.tasks"
# A preload option: Celery hands it to every command as the command starts (user_preload_options).
LOG_FORMAT_OPTION = Option(("--log-format",), type=Choice(logs.FORMATS), default=None,
                           help="text, or one JSON object per line [default: LOG_FORMAT, else text].")


class TramontaneCelery(Celery):
    def __init__(self) -> None:
        super().__init__("tramontane", task_cls="app.workers.app_context:AppContextTask", include=[TASKS_MODULE])
        self._settings: Settings | None = None
        self._process: WorkerProcess | None = None
        self._building = threading.Lock()
        self.config_from_object("celeryconfig")
        # Evaluated when the app is first configured, so after the entry point handed its settings over.
        self.add_defaults(lambda: celeryconfig.from_settings(self.settings))

    def use_settings(self, settings: Settings) -> None:
        """The settings of the process, built by its entry point; given before the app is configured."""
        with self._building:
            if self._settings is not None and self._settings != settings:
                raise RuntimeError("the Celery app already has the settings of this process")
            self._settings = settings

    @property
    def settings(self) -> Settings:
        """The process's one :class:`Settings`."""
        with self._building:
            if self._settings is None:
                # No entry point of ours built them: this process is the `celery` command (a worker,
                # Flower), and the first use of the app is its start.
                self._settings = Settings.from_env()
                logs.configure(self._settings.log_level, self._settings.log_format)
            return self._settings

    @property
    def process(self) -> WorkerProcess:
        """What a worker process runs tasks with (its Flask app, dispatcher and heartbeat), built once."""
        settings = self.settings
        with self._building:
            if self._process is None:
                # Imported here: Flower loads this module too, and needs none of the engine.
                from app.workers.process import WorkerProcess

                self._process = WorkerProcess(self, settings)
            return self._process

    @cached_property
    def Worker(self) -> Any:  # noqa: N802 - Celery's name
        return self.subclass_with_self("app.workers.node_name:UniquelyNamedWorker")


celery = TramontaneCelery()
celery.user_options["preload"].add(LOG_FORMAT_OPTION)
celery.user_options["worker"].add(WORKER_OPTION)
celery.steps["worker"].add(EmbeddedScheduler)
celery.steps["worker"].add(TaskCountFolding)
celery.steps["worker"].add(WorkerLiveness)
celery.steps["consumer"].add(BatchedTaskEvents)


@user_preload_options.connect
def _a_celery_command_starts(app: Any = None, options: dict[str, Any] | None = None, **_: Any) -> None:
    # The command's entry point: the settings, and logging set up before the command sets up any of
    # its own (Flower's option parsing gives the root logger a handler of Tornado's if it has none).
    if app is not celery:
        return
    settings = Settings.from_env()
    chosen = (options or {}).get("log_format")
    if chosen:
        settings = dataclasses.replace(settings, log_format=chosen)
    celery.use_settings(settings)
    logs.configure(settings.log_level, settings.log_format)
    tornado_options = sys.modules.get("tornado.options")
    if tornado_options is not None:
        # Flower's: parsing its options sets the root logger's level from its own --logging (info
        # unless given), and LOG_LEVEL is the level of every process.
        tornado_options.options.logging = settings.log_level.lower()


@setup_logging.connect
def _same_logging_as_every_process(loglevel: Any = None, **_: Any) -> None:
    # Connected, so Celery leaves logging to us: the worker and Flower log as the API does.
    settings = celery.settings
    level = loglevel if isinstance(loglevel, int) else str(loglevel or settings.log_level).upper()
    logs.configure(level, settings.log_format)

"""The scheduler as a thread of a Celery worker's main process: ``celery worker --with-scheduler``.

The worker has already imported everything the scheduler needs, so running the scheduler there
saves a whole Python process.

With the prefork pool (``WORKER_POOL=prefork``) the pool forks children from this process, at
start and later to replace one that exited. A child must not inherit a lock that the scheduler
thread held at the moment of the fork (it would never be released there), so every fork waits until
the scheduler is between two passes. The default threads pool never forks.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from celery import bootsteps
from click import Option

log = logging.getLogger(__name__)
STOP_TIMEOUT_SECONDS = 30.0
WORKER_OPTION = Option(("--with-scheduler",), is_flag=True, default=False,
                       help="Also run the scheduler (timers, cron triggers, sweeps) in this worker.")


class _PassGuard:
    """Held by the scheduler during a pass of work, and by a fork while it happens."""

    def __init__(self, in_child: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._in_child_too = in_child
        os.register_at_fork(before=self._lock.acquire, after_in_parent=self._lock.release,
                            after_in_child=self._in_child)

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *_: object) -> None:
        self._lock.release()

    def _in_child(self) -> None:
        self._lock.release()
        self._in_child_too()


class EmbeddedScheduler(bootsteps.StartStopStep):
    """Runs :func:`app.scheduler.run_scheduler` in a thread once the pool has started."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, with_scheduler: bool = False, **options: Any) -> None:
        super().__init__(parent, **options)
        self.enabled = with_scheduler
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        # Imported here: Flower loads this module too (through the Celery app), and needs no scheduler.
        from app.extensions import db
        from app.scheduler import run_scheduler, scheduler_app

        settings = parent.app.settings
        flask_app = scheduler_app(settings)

        def forget_connections() -> None:
            # The child inherits the scheduler's pooled connections: it must neither use nor close them.
            with flask_app.app_context():
                db.engine.dispose(close=False)

        guard = _PassGuard(in_child=forget_connections)
        self._thread = threading.Thread(
            target=run_scheduler, args=(settings, parent.app.process.dispatcher, self._stop, flask_app, guard),
            name="scheduler", daemon=True,
        )
        self._thread.start()
        log.info("scheduler embedded in this worker")

    def stop(self, parent: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)

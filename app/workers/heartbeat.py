"""A worker process tells the database, every few seconds, which actions it is running.

A RUNNING action whose heartbeat stops was being run by a worker that died; the scheduler's sweeper
and redelivered messages use that to re-run it (``safe-rerun``) or fail it.

The run-action task's signals register each action here (:func:`beat_while_running`), so the
executor itself only claims, runs and reports. A registered action is beaten only while this process
holds its claim: a duplicate message for an action another worker runs never makes that worker look
alive.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from celery.signals import task_postrun, task_prerun
from sqlalchemy import update
from sqlalchemy.engine import Engine

from app.models import ActionExecution, utc_now
from app.workers.executor import worker_id

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, engine: Engine, interval: float) -> None:
        self._engine = engine
        self._interval = interval
        # How many holds each action has: its run's, and its result's while it waits to be recorded.
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Called for every action: the threads of a threads pool may race to start the one beat
        # thread, and a pool process forked from a parent that had one has none running.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="action-heartbeat", daemon=True)
                self._thread.start()

    @property
    def running(self) -> frozenset[str]:
        """The actions this process beats for now."""
        with self._lock:
            return frozenset(self._running)

    def add(self, action_execution_id: str) -> None:
        with self._lock:
            self._running[action_execution_id] += 1

    def discard(self, action_execution_id: str) -> None:
        """Undo one :meth:`add`; the action is beaten for until every hold is let go of."""
        with self._lock:
            if self._running.get(action_execution_id, 0) <= 1:
                self._running.pop(action_execution_id, None)
            else:
                self._running[action_execution_id] -= 1

    def beat(self) -> None:
        with self._lock:
            ids = list(self._running)
        if not ids:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(ActionExecution)
                .where(ActionExecution.id.in_(ids), ActionExecution.state == "RUNNING",
                       ActionExecution.worker_id == worker_id())
                .values(last_heartbeat=utc_now())
            )

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.exception("could not write action heartbeats")


def beat_while_running(task_name: str) -> None:
    """Beat for the action of each run of the task ``task_name`` (its first argument), start to end."""

    def started(sender: Any = None, args: Any = (), **_: Any) -> None:
        if sender.name == task_name:
            heartbeat = sender.app.process.heartbeat
            heartbeat.start()
            heartbeat.add(args[0])

    def ended(sender: Any = None, args: Any = (), **_: Any) -> None:
        if sender.name == task_name:
            sender.app.process.heartbeat.discard(args[0])

    # By name: the task object a worker runs is not the proxy its module holds.
    task_prerun.connect(started, weak=False)
    task_postrun.connect(ended, weak=False)

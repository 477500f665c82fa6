"""A worker process tells the database, every few seconds, which actions it is running.

A RUNNING action whose heartbeat stops was being run by a worker that died; the scheduler's sweeper
and redelivered messages use that to re-run it (``safe-rerun``) or fail it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import update
from sqlalchemy.engine import Engine

from app.models import ActionExecution, utc_now

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, engine: Engine, interval: float) -> None:
        self._engine = engine
        self._interval = interval
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Called by every task: the threads of a threads pool may race to start the one beat thread.
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="action-heartbeat", daemon=True)
                self._thread.start()

    def add(self, action_execution_id: str) -> None:
        with self._lock:
            self._running.add(action_execution_id)

    def discard(self, action_execution_id: str) -> None:
        with self._lock:
            self._running.discard(action_execution_id)

    def beat(self) -> None:
        with self._lock:
            ids = list(self._running)
        if not ids:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(ActionExecution)
                .where(ActionExecution.id.in_(ids), ActionExecution.state == "RUNNING")
                .values(last_heartbeat=utc_now())
            )

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.exception("could not write action heartbeats")

"""Each Celery worker announces itself in Redis every few seconds, so ``/health`` lists the live ones.

The key (``tramontane:worker:<worker name>``) expires after three missed beats, so a worker that
died disappears within seconds; one that stops cleanly removes its key at once.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from celery import bootsteps

from app.health import WORKER_KEY_PREFIX

log = logging.getLogger(__name__)


class WorkerLiveness(bootsteps.StartStopStep):
    """Beats on the worker's timer (its event loop), as Celery's own event heartbeat does."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **options: Any) -> None:
        super().__init__(parent, **options)
        self._entry: Any = None
        self._client: redis.Redis | None = None
        self._key = ""
        self._identity: dict[str, Any] = {}
        self._ttl = 0

    def start(self, parent: Any) -> None:
        settings = parent.app.settings
        interval = settings.worker_heartbeat_seconds
        self._ttl = max(int(3 * interval), 1)
        self._key = f"{WORKER_KEY_PREFIX}{parent.hostname}"
        self._identity = {"pool": settings.worker_pool, "concurrency": parent.concurrency}
        self._client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2, socket_timeout=2)
        self.beat()
        self._entry = parent.timer.call_repeatedly(interval, self.beat)

    def beat(self) -> None:
        if self._client is None:
            return
        record = json.dumps({**self._identity, "at": round(time.time(), 1)})
        try:
            self._client.set(self._key, record, ex=self._ttl)
        except redis.RedisError as exc:
            log.warning("could not write the worker's liveness beat: %s", exc)

    def stop(self, parent: Any) -> None:
        if self._entry is not None:
            self._entry.cancel()
            self._entry = None
        if self._client is not None:
            try:
                self._client.delete(self._key)
            except redis.RedisError as exc:
                log.warning("could not remove the worker's liveness key: %s", exc)
            self._client.close()
            self._client = None

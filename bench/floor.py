"""Drives the floor shapes from the benchmark process and times them.

Each measurement runs from the first message sent to the BLPOP that returns the last task's
signal, so it includes sending the messages, as the engine's own times do.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import redis

from bench import floor_app
from bench.stack import event_settings

WAIT_TIMEOUT = 120


class Floor:
    def __init__(self, redis_url: str, celery_events: str = "configured") -> None:
        # The benchmark process sends to the same broker the floor worker consumes from.
        floor_app.celery.conf.broker_url = redis_url
        # The floor's sender follows the stack's event settings (its worker gets them at start).
        floor_app.celery.conf.update(event_settings(celery_events))
        self.redis = redis.Redis.from_url(redis_url)

    def _keys(self) -> tuple[str, str]:
        run = uuid.uuid4().hex
        return f"bench:floor:{run}:count", f"bench:floor:{run}:done"

    def _wait(self, done_key: str, signals: int) -> None:
        for _ in range(signals):
            if self.redis.blpop([done_key], timeout=WAIT_TIMEOUT) is None:
                raise RuntimeError(f"the floor worker did not finish within {WAIT_TIMEOUT} s")

    def _timed(self, send: Callable[[str, str], int]) -> float:
        counter_key, done_key = self._keys()
        started = time.monotonic()
        signals = send(counter_key, done_key)
        self._wait(done_key, signals)
        elapsed = time.monotonic() - started
        self.redis.delete(counter_key, done_key)
        return elapsed

    def chains(self, count: int, length: int) -> float:
        """``count`` chains of ``length`` tasks started at once (seq50: 1 x 50, conc20: 20 x 5)."""
        def send(_counter_key: str, done_key: str) -> int:
            for _ in range(count):
                floor_app.chain.delay(length, done_key)
            return count

        return self._timed(send)

    def independent(self, count: int, then_join: bool = False) -> float:
        """``count`` independent tasks (items200, async100), plus one join task after them (fan50)."""
        def send(counter_key: str, done_key: str) -> int:
            for _ in range(count):
                floor_app.count.delay(count, counter_key, done_key, then_join)
            return 1

        return self._timed(send)

    def ready(self) -> None:
        """Wait until the floor worker consumes (a one-link chain), so start-up is never measured."""
        self.chains(1, 1)

"""Sends the worker's task events to Flower in batches, a few times a second, instead of one batch
per turn of the event loop.

A worker with task events on (``-E``) publishes three per task (received, started, succeeded or
failed). Celery buffers them and asks its event loop to flush the buffer at its next turn, which,
when tasks take milliseconds each, is a Redis PUBLISH of one or two events every time (90 events
in 51 messages for 30 tasks). Here the first event after a flush arms one flush ``FLUSH_SECONDS``
later, on the loop's timer, so one PUBLISH carries what the tasks of that interval produced.
Flower shows a task's events that much later; nothing else reads them. A full buffer
(``BUFFER_LIMIT`` events) is still sent at once by Celery itself.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
BUFFER_LIMIT = 200


class BatchedTaskEvents(bootsteps.StartStopStep):
    """Replaces the event dispatcher's flush-at-the-next-turn by a flush on the loop's timer."""

    requires = ("celery.worker.consumer.events:Events",)

    def __init__(self, parent: Any, **options: Any) -> None:
        super().__init__(parent, **options)
        self._consumer: Any = None
        self._armed = False
        self._arming = threading.Lock()
        self._entry: Any = None

    def start(self, parent: Any) -> None:
        # Run again with every (re)start of the consumer, which builds a new dispatcher.
        dispatcher = parent.event_dispatcher
        if dispatcher is None or parent.hub is None or not dispatcher.buffer_group:
            return
        self._consumer = parent
        self._armed = False
        dispatcher.buffer_limit = BUFFER_LIMIT
        dispatcher.on_send_buffered = self._event_buffered

    def _event_buffered(self) -> None:
        # Called by the thread that sent the event (the loop, or a task's thread).
        with self._arming:
            if self._armed:
                return
            self._armed = True
        # The loop's timer is the loop's own: the loop arms it (call_soon wakes it from any thread).
        self._consumer.hub.call_soon(self._arm)

    def _arm(self) -> None:
        self._entry = self._consumer.hub.call_later(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._entry = None
        with self._arming:
            # Cleared first: an event buffered while this flush publishes arms the next one.
            self._armed = False
        dispatcher = self._consumer.event_dispatcher if self._consumer is not None else None
        if dispatcher is not None:
            dispatcher.flush()

    def stop(self, parent: Any) -> None:
        # The consumer restarts (its connection was lost): Celery drops the old dispatcher's buffer,
        # and a publish on that connection now could hang.
        self._cancel()

    def shutdown(self, parent: Any) -> None:
        # The worker stops: the tasks it finished have told their last events. Steps shut down in
        # the reverse of their order, so the Events step has not closed the dispatcher yet.
        self._cancel()
        try:
            self._flush()
        except Exception as exc:  # noqa: BLE001 - the broker may be gone; events are not kept
            log.info("could not send the last task events: %s", exc)

    def _cancel(self) -> None:
        if self._entry is not None:
            self._entry.cancel()
            self._entry = None

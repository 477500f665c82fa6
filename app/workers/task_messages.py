"""The engine's Celery messages, written to a Redis broker's queue lists directly.

Celery's ``send_task`` spends about 0.17 ms of interpreter time on each message before its LPUSH:
merging options, routing, copying the exchange and queue objects, the retry wrapper, a safe repr of
the arguments. The engine's messages never need any of it: they carry ids, go to a named queue and
are built the same way every time. Here a message is built as Celery's task protocol 2 builds it
(the same headers and properties: workers, Flower and the logs see the same task, parent and root
included when a task sends it) and pushed to the list kombu's Redis transport reads for that queue
(the anonymous exchange routes by the queue's name, and priority 0 is the queue's own key).

Only for ``redis://`` brokers, as :mod:`app.workers.redis_broker`, with no transport option that
would move the queue's key (a key prefix, other priority steps). Celery's publish signals do not fire
for these messages (nothing here listens to them). A push is tried once, without redis-py's retries:
the caller sends through Celery when it fails (with Celery's retries), and leaves Redis to Celery
for a few seconds (:meth:`TaskMessages.available`). A message may then leave twice, which every task
allows for.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery
from celery.utils.saferepr import saferepr
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.ids import random_uuid

# No body of the engine's messages uses what Celery's canvas puts here.
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
# Celery's bound on the arguments' repr in the headers (its argsrepr_maxsize).
_ARGSREPR_SIZE = 1024
# The transport options a direct push honours as kombu does: those that do not move a queue's key.
_NEUTRAL_OPTIONS = frozenset({"visibility_timeout"})
# After a failed push, how long Redis is left to Celery's publishing (and its retries).
PAUSE_AFTER_FAILURE = 5.0


@dataclass(frozen=True)
class TaskMessage:
    """One task to send: its name, positional arguments, queue and what Flower shows of it."""

    task: str
    args: tuple[Any, ...]
    queue: str
    task_id: str | None = None
    shadow: str | None = None
    # None: the repr of no keyword arguments, as Celery writes it.
    kwargsrepr: str | None = None


def supported(broker_url: str, transport_options: dict[str, Any] | None = None) -> bool:
    return urlsplit(broker_url).scheme == "redis" and not set(transport_options or {}) - _NEUTRAL_OPTIONS


class TaskMessages:
    """Builds and pushes :class:`TaskMessage` for one Celery application, in one round trip a batch."""

    def __init__(self, celery: Celery, broker_url: str) -> None:
        self._celery = celery
        # One attempt: a retry after a timed-out reply would push again what may have arrived.
        self._client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=5,
                                            retry=Retry(NoBackoff(), 0))
        self._origin: tuple[int, str] | None = None
        self._paused_until = 0.0

    def available(self) -> bool:
        """False for a while after a push failed: a broker that is down costs one timeout, not one a step."""
        return time.monotonic() >= self._paused_until

    def pause(self) -> None:
        """A push failed: Redis is left to Celery for :data:`PAUSE_AFTER_FAILURE` seconds."""
        self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE

    def push(self, messages: Sequence[TaskMessage]) -> None:
        """LPUSH each message to its queue; raises what Redis raised (some may have left)."""
        if len(messages) == 1:
            self._client.lpush(messages[0].queue, self.encode(messages[0]))
            return
        pipe = self._client.pipeline(transaction=False)
        for message in messages:
            pipe.lpush(message.queue, self.encode(message))
        pipe.execute()

    def encode(self, message: TaskMessage) -> str:
        """The message as kombu's Redis transport stores it."""
        task_id = message.task_id or str(random_uuid())
        root_id, parent_id = task_id, None
        parent = self._celery.current_worker_task
        if parent is not None:
            # As Celery records a task sent by a running task: its parent, and the chain's root.
            parent_id = parent.request.id
            root_id = parent.request.root_id or parent_id
        body = json.dumps([list(message.args), {}, _EMBED]).encode()
        headers: dict[str, Any] = {
            "lang": "py", "task": message.task, "id": task_id, "shadow": message.shadow, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
            "root_id": root_id, "parent_id": parent_id, "argsrepr": saferepr(message.args, _ARGSREPR_SIZE),
            "kwargsrepr": message.kwargsrepr or "{}", "origin": self._origin_name(), "ignore_result": None,
            "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {},
        }
        properties = {
            "correlation_id": task_id, "reply_to": self._celery.thread_oid, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": message.queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(random_uuid()),
        }
        return json.dumps({
            "body": base64.b64encode(body).decode(), "content-encoding": "utf-8",
            "content-type": "application/json", "headers": headers, "properties": properties,
        })

    def _origin_name(self) -> str:
        # Celery's name for a process that is not a worker; a forked child has a pid of its own.
        pid = os.getpid()
        if self._origin is None or self._origin[0] != pid:
            self._origin = (pid, f"gen{pid}@{socket.gethostname()}")
        return self._origin[1]

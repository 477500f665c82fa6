"""kombu's Redis transport, with one Redis client per channel instead of one per command, and the
engine's messages acknowledged in the worker's memory.

kombu builds a new ``redis.Redis`` for each message it publishes, acknowledges or records as
unacknowledged, and building one copies redis-py's table of response callbacks: about 60 µs, three
times for every task a worker runs (its message's bookkeeping and ack, and the message its step
sends). A client holds no connection of its own (each command takes one from the channel's pool and
returns it), so one client per channel serves every thread of the process. It is rebuilt when the
channel replaced its pool (after a lost connection).

kombu keeps every message a worker took and has not acknowledged in Redis too (a hash of the
messages and a sorted set of when they were taken), to put it back in its queue when the
visibility timeout passes without an ack: two more round trips for every task. The engine's tasks
that the sweeper makes again from the database long before the hour of the visibility timeout
(:data:`~app.workers.task_names.RECREATED_FROM_DATABASE`: the runs of actions and the
continuations after them) do not need that. They are held in the worker's memory only, which still
counts them against the prefetch limit and still puts them back in their queue when the worker
stops cleanly. Every other task (a child's news to its parent, notifications) keeps kombu's
bookkeeping.

Only for ``redis://`` brokers (:func:`transport_for`): kombu decides TLS for ``rediss://`` from the
scheme's name, which a transport given by path would hide.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import urlsplit

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from app.workers.task_names import RECREATED_FROM_DATABASE

TRANSPORT = "app.workers.redis_broker:Transport"

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Delivery tags of the messages held in memory only; the event loop's thread adds, any thread acks.
        self._in_memory: set[str] = set()

    def append(self, message: Any, delivery_tag: str) -> None:
        if (message.headers or {}).get("task") in RECREATED_FROM_DATABASE:
            self._in_memory.add(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        if delivery_tag in self._in_memory:
            self._in_memory.discard(delivery_tag)
            virtual.QoS.ack(self, delivery_tag)
        else:
            super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if delivery_tag in self._in_memory:
            if requeue:
                self._put_back(self._held()[delivery_tag], leftmost=True)
            self.ack(delivery_tag)
        else:
            super().reject(delivery_tag, requeue=requeue)

    def restore_unacked(self, client: Any = None) -> None:
        # At shutdown: the messages held in memory go back to their queues as Redis's own do. One
        # that cannot (Redis gone) is left to the sweeper, which makes it again from the database.
        self._flush()
        held = self._held()
        for tag in [tag for tag in held if tag in self._in_memory]:
            try:
                self._put_back(held[tag])
            except Exception as exc:  # noqa: BLE001 - whatever Redis raised, the others are tried
                log.warning("could not put message %s back in its queue: %s", tag, exc)
                continue
            del held[tag]
            self._in_memory.discard(tag)
        super().restore_unacked(client)

    def _held(self) -> dict[str, Any]:
        """Every message taken and not acknowledged yet, by delivery tag (kombu's own record)."""
        # kombu's class declares it None; its __init__ sets it.
        return cast(dict[str, Any], self._delivered)

    def _put_back(self, message: Any, leftmost: bool = False) -> None:
        delivery = message.delivery_info
        with self.channel.conn_or_acquire() as client:
            pipe = client.pipeline()
            self.channel._do_restore_message(message._raw, delivery["exchange"], delivery["routing_key"],
                                             pipe, leftmost)
            pipe.execute()


class Channel(kombu_redis.Channel):
    QoS = QoS
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            # The event loop's own connection (BRPOP): kombu keeps that client already.
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


def transport_for(broker_url: str) -> str | None:
    """The transport Celery should use for ``broker_url`` (None: the one its scheme names)."""
    return TRANSPORT if urlsplit(broker_url).scheme == "redis" else None

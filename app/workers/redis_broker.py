"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu builds a new ``redis.Redis`` for each message it publishes, acknowledges or records as
unacknowledged, and building one copies redis-py's table of response callbacks: about 60 µs, three
times for every task a worker runs (its message's bookkeeping and ack, and the message its step
sends). A client holds no connection of its own (each command takes one from the channel's pool and
returns it), so one client per channel serves every thread of the process. It is rebuilt when the
channel replaced its pool (after a lost connection).

Only for ``redis://`` brokers (:func:`transport_for`): kombu decides TLS for ``rediss://`` from the
scheme's name, which a transport given by path would hide.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kombu.transport import redis as kombu_redis

TRANSPORT = "app.workers.redis_broker:Transport"


class Channel(kombu_redis.Channel):
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

"""Completion signals through Redis: a synchronous ``run-action`` waits for its action to end.

The worker that records the result pushes to a list named after the action; the API process waits
on it with a blocking pop, so nothing polls the database.
"""

from __future__ import annotations

import redis

SIGNAL_TTL_SECONDS = 600


def done_key(action_execution_id: str) -> str:
    return f"tramontane:action-done:{action_execution_id}"


class CompletionSignals:
    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10)

    def notify(self, action_execution_id: str) -> None:
        key = done_key(action_execution_id)
        pipe = self._client.pipeline()
        pipe.lpush(key, "done")
        pipe.expire(key, SIGNAL_TTL_SECONDS)
        pipe.execute()

    def wait(self, action_execution_id: str, timeout: float) -> bool:
        """True when the action ended within ``timeout`` seconds."""
        # The socket must outlast the blocking pop, whatever the client's usual read timeout.
        client = redis.Redis.from_url(self._url, socket_connect_timeout=5, socket_timeout=timeout + 10)
        try:
            return client.blpop([done_key(action_execution_id)], timeout=max(timeout, 0.01)) is not None
        finally:
            client.close()

"""Health checks for ``GET /health``: the broker and the scheduler's liveness beat."""

from __future__ import annotations

import time
from typing import Any

import redis

from app.config import Settings

SCHEDULER_HEARTBEAT_KEY = "tramontane:scheduler:heartbeat"
SCHEDULER_STALE_SECONDS = 15


def broker_and_scheduler_status(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        beat = client.get(SCHEDULER_HEARTBEAT_KEY)
        client.close()
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc)}, {"ok": False, "error": "broker unreachable"}
    if beat is None:
        return {"ok": True}, {"ok": False, "error": "no scheduler heartbeat"}
    text = beat.decode() if isinstance(beat, bytes) else str(beat)
    owner, _, stamp = text.rpartition(" ")
    age = max(time.time() - float(stamp), 0.0)
    return {"ok": True}, {"ok": age < SCHEDULER_STALE_SECONDS, "last_beat_seconds_ago": round(age, 1),
                          "owner": owner}

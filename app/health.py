"""Whether the broker answers, for ``GET /health``."""

from __future__ import annotations

from typing import Any

import redis

from app.config import Settings


def broker_status(settings: Settings) -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc)}

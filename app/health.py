"""Health checks for ``GET /health``: the broker, the scheduler's liveness beat and the live workers."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import redis

from app.config import Settings

SCHEDULER_HEARTBEAT_KEY = "tramontane:scheduler:heartbeat"
SCHEDULER_STALE_SECONDS = 15
# One key per Celery worker, refreshed by the worker and expiring when it stops beating
# (app/workers/liveness.py).
WORKER_KEY_PREFIX = "tramontane:worker:"


@functools.lru_cache(maxsize=4)
def status_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process for the health checks and the metrics scrapes:
    a load balancer asks every few seconds, and a new connection each time (a TLS handshake with
    rediss://) would cost more than the answer."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def redis_status(settings: Settings) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The broker's, the scheduler's and the workers' status, read from Redis."""
    try:
        client = status_client(settings.broker_url)
        client.ping()
        beat = client.get(SCHEDULER_HEARTBEAT_KEY)
        worker_keys = sorted(client.scan_iter(match=f"{WORKER_KEY_PREFIX}*", count=100))
        worker_beats = client.mget(worker_keys) if worker_keys else []
    except redis.RedisError as exc:
        unreachable = {"ok": False, "error": "broker unreachable"}
        return {"ok": False, "error": str(exc)}, unreachable, dict(unreachable)
    return {"ok": True}, _scheduler_status(beat), _workers_status(worker_keys, worker_beats)


def _scheduler_status(beat: Any) -> dict[str, Any]:
    if beat is None:
        return {"ok": False, "error": "no scheduler heartbeat"}
    text = beat.decode() if isinstance(beat, bytes) else str(beat)
    owner, _, stamp = text.rpartition(" ")
    age = max(time.time() - float(stamp), 0.0)
    return {"ok": age < SCHEDULER_STALE_SECONDS, "last_beat_seconds_ago": round(age, 1), "owner": owner}


def _workers_status(keys: list[Any], beats: list[Any]) -> dict[str, Any]:
    live = []
    for key, beat in zip(keys, beats, strict=True):
        if beat is None:  # expired between the scan and the read
            continue
        try:
            record = json.loads(beat)
        except ValueError:
            continue
        name = (key.decode() if isinstance(key, bytes) else str(key))[len(WORKER_KEY_PREFIX):]
        live.append({"name": name, "pool": record.get("pool"), "concurrency": record.get("concurrency"),
                     "last_beat_seconds_ago": round(max(time.time() - float(record.get("at", 0)), 0.0), 1)})
    if not live:
        return {"ok": False, "error": "no live worker", "live": []}
    return {"ok": True, "live": live}

"""The raw-Celery floor: the same broker and worker settings as Tramontane, without the engine.

The floor worker runs ``celery -A bench.floor_app:celery worker`` (started by the benchmark); the
tasks do nothing but pass the baton on, so a scenario's time here is the cost of the Celery hops
alone. There is no result backend (as in ``celeryconfig``): the last task pushes to a Redis list
the benchmark waits on with BLPOP.
"""

from __future__ import annotations

import redis
from celery import Celery

import celeryconfig
from app.config import Settings

QUEUE = "bench-floor"

celery = Celery("bench_floor")
# Tramontane's own settings (acks late, prefetch 1, events on, JSON, no result backend, the broker
# and pool of REDIS_URL and WORKER_POOL, ...); only the queue differs, so the floor never steals
# Tramontane's messages on a shared broker.
celery.config_from_object("celeryconfig")
celery.add_defaults(lambda: celeryconfig.from_settings(Settings.from_env()))
celery.conf.task_default_queue = QUEUE

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # One client per worker process, made on first use: a prefork child never shares its parent's
    # connection, and the threads of a threads pool share its connection pool.
    global _client
    if _client is None:
        _client = redis.Redis.from_url(celery.conf.broker_url)
    return _client


@celery.task(name="bench.floor.chain")
def chain(remaining: int, done_key: str) -> None:
    """A no-op that sends the next link itself, as a sync task's continuation does in the engine."""
    if remaining > 1:
        chain.delay(remaining - 1, done_key)
    else:
        _redis().rpush(done_key, "done")


@celery.task(name="bench.floor.count")
def count(total: int, counter_key: str, done_key: str, then_join: bool) -> None:
    """A no-op among ``total`` independent ones; the last to finish signals (or sends the join)."""
    if _redis().incr(counter_key) < total:
        return
    if then_join:
        join.delay(done_key)
    else:
        _redis().rpush(done_key, "done")


@celery.task(name="bench.floor.join")
def join(done_key: str) -> None:
    _redis().rpush(done_key, "done")

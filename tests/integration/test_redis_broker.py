"""The broker transport reuses one Redis client per channel (a real Redis, the Celery settings of
a deployment)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

import celeryconfig
from app.config import Settings
from app.workers import redis_broker


@pytest.fixture()
def app(redis_url: str) -> Iterator[Celery]:
    celery = Celery("test_redis_broker")
    celery.config_from_object(celeryconfig)
    celery.conf.update(celeryconfig.from_settings(Settings.from_env({"REDIS_URL": redis_url})))
    try:
        yield celery
    finally:
        celery.close()


def test_a_redis_url_gets_the_reusing_transport_and_a_tls_url_keeps_kombus() -> None:
    assert redis_broker.transport_for("redis://127.0.0.1:6379/0") == redis_broker.TRANSPORT
    # kombu turns TLS on from the scheme's name: a transport given by path would lose it.
    assert redis_broker.transport_for("rediss://cache.example:6380/0?ssl_cert_reqs=required") is None
    settings = Settings.from_env({"REDIS_URL": "rediss://cache.example:6380/0"})
    assert "broker_transport" not in celeryconfig.from_settings(settings)


def test_messages_are_published_with_one_client_not_one_each(
        app: Celery, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    real_init = redis.Redis.__init__

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)

    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    with app.producer_or_acquire() as producer:
        assert isinstance(producer.channel, redis_broker.Channel)
        monkeypatch.setattr(redis.Redis, "__init__", counted_init)
        for index in range(20):
            app.send_task("test.noop", args=(index,), queue=queue, producer=producer)
        monkeypatch.undo()

    assert len(built) <= 1  # kombu's own transport builds one per message: 20
    client = redis.Redis.from_url(redis_url)
    assert client.llen(queue) == 20
    client.delete(queue)


def test_a_channel_whose_pool_was_replaced_builds_a_client_on_the_new_pool(app: Celery, redis_url: str) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    with app.producer_or_acquire() as producer:
        channel = producer.channel
        first = channel._create_client()
        assert channel._create_client() is first
        # What kombu does after a lost connection: the next command gets a new pool.
        channel._disconnect_pools()
        second = channel._create_client()
        assert second is not first
        assert second.connection_pool is channel.pool
        app.send_task("test.noop", queue=queue, producer=producer)

    client = redis.Redis.from_url(redis_url)
    assert client.llen(queue) == 1
    client.delete(queue)

"""The broker transport reuses one Redis client per channel, and keeps the engine's messages
unacknowledged in memory rather than in Redis (a real Redis, the Celery settings of a deployment)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import kombu
import pytest
import redis
from celery import Celery

import celeryconfig
from app.config import Settings
from app.workers import redis_broker
from app.workers.task_names import CONTINUE_AFTER_ACTION, CONTINUE_PARENT, NOTIFY, RUN_ACTION


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


def _received(connection: Any, queue: str, count: int, prefetch: int = 10) -> tuple[Any, list[Any]]:
    """Take ``count`` messages from ``queue`` as a worker's consumer does (acks late), without acking."""
    channel = connection.default_channel
    channel.basic_qos(0, prefetch, False)
    messages: list[Any] = []
    consumer = kombu.Consumer(channel, queues=[kombu.Queue(queue)], accept=["json"],
                              callbacks=[lambda _body, message: messages.append(message)])
    consumer.consume()
    while len(messages) < count:
        connection.drain_events(timeout=5)
    return channel, messages


def test_an_engine_message_is_held_in_memory_and_any_other_in_redis(app: Celery, redis_url: str) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    app.send_task(RUN_ACTION, args=("action-id",), queue=queue)
    app.send_task(NOTIFY, args=("http://example.invalid/", {}, {}), queue=queue)
    # A child's news to its parent: the sweeper makes it again only for a child that ended.
    app.send_task(CONTINUE_PARENT, args=("workflow-id",), queue=queue)
    client = redis.Redis.from_url(redis_url)
    with app.connection_for_read() as connection:
        channel, messages = _received(connection, queue, 3)
        by_task = {message.headers["task"]: message for message in messages}
        engine = by_task[RUN_ACTION]
        # kombu records a message it hands out in the unacked hash, unless the database can re-create it.
        assert not client.hexists(channel.unacked_key, engine.delivery_tag)
        for other in (by_task[NOTIFY], by_task[CONTINUE_PARENT]):
            assert client.hexists(channel.unacked_key, other.delivery_tag)
        assert engine.delivery_tag in channel.qos._delivered  # still counted against the prefetch
        for message in messages:
            message.ack()
        for message in messages:
            assert not client.hexists(channel.unacked_key, message.delivery_tag)
        channel.qos._flush()
        assert not channel.qos._delivered
    assert client.llen(queue) == 0  # acked: closing the connection puts nothing back


def test_an_engine_message_held_in_memory_counts_against_the_prefetch_limit(app: Celery) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    for index in range(2):
        app.send_task(RUN_ACTION, args=(f"action-{index}",), queue=queue)
    with app.connection_for_read() as connection:
        channel, messages = _received(connection, queue, 1, prefetch=1)
        assert not channel.qos.can_consume()
        messages[0].ack()
        assert channel.qos.can_consume()
        messages[0].channel.qos._flush()


def test_an_engine_message_not_acked_goes_back_to_its_queue_when_the_consumer_stops(
        app: Celery, redis_url: str) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    app.send_task(CONTINUE_AFTER_ACTION, args=("action-id",), queue=queue)
    client = redis.Redis.from_url(redis_url)
    with app.connection_for_read() as connection:
        channel, messages = _received(connection, queue, 1)
        assert client.llen(queue) == 0
        assert not client.hexists(channel.unacked_key, messages[0].delivery_tag)  # held in memory
    # Closing the channel restores what it held, as kombu does with its Redis records at a warm shutdown.
    assert client.llen(queue) == 1
    with app.connection_for_read() as connection:
        _, again = _received(connection, queue, 1)
        assert again[0].headers["task"] == CONTINUE_AFTER_ACTION
        assert again[0].delivery_info.get("redelivered") is True
        assert again[0].body == messages[0].body
        again[0].ack()


def _queued_args(client: redis.Redis, queue: str) -> list[Any]:
    """The first argument of each message in ``queue``, from its left end (where LPUSH puts them)."""
    return [json.loads(base64.b64decode(json.loads(item)["body"]))[0][0] for item in client.lrange(queue, 0, -1)]


def test_a_rejected_engine_message_asked_back_is_queued_where_kombu_queues_its_own(
        app: Celery, redis_url: str) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    for task in (RUN_ACTION, NOTIFY):
        app.send_task(task, args=(f"{task} first",), queue=queue)
        with app.connection_for_read() as connection:
            channel, messages = _received(connection, queue, 1)
            app.send_task(task, args=(f"{task} second",), queue=queue)
            messages[0].reject(requeue=True)
            channel.qos._flush()
            assert not channel.qos._delivered
        assert not client.hexists(channel.unacked_key, messages[0].delivery_tag)
        # kombu's Redis transport requeues a rejected message with LPUSH, as it publishes.
        assert _queued_args(client, queue) == [f"{task} first", f"{task} second"]
        client.delete(queue)


def test_a_message_that_cannot_go_back_leaves_the_others_to_go_back(
        app: Celery, redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    for index in range(2):
        app.send_task(RUN_ACTION, args=(f"action-{index}",), queue=queue)
    client = redis.Redis.from_url(redis_url)
    real_put_back = redis_broker.QoS._put_back
    tried: list[Any] = []

    def failing_once(self: redis_broker.QoS, message: Any, leftmost: bool = False) -> None:
        tried.append(message)
        if len(tried) == 1:
            raise redis.ConnectionError("Redis went away")
        real_put_back(self, message, leftmost)

    monkeypatch.setattr(redis_broker.QoS, "_put_back", failing_once)
    with caplog.at_level("WARNING", logger="app.workers.redis_broker"), app.connection_for_read() as connection:
        _received(connection, queue, 2)
    # The first is left to the sweeper (the database makes it again); the second went back.
    assert len(tried) == 2
    assert client.llen(queue) == 1
    assert "could not put message" in caplog.text
    client.delete(queue)

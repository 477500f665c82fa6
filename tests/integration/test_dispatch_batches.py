"""The dispatcher sends a step's messages to Redis in batches, and again one by one if a batch fails
(a real Redis, the Celery app's own producer)."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from kombu.transport import redis as kombu_redis

import celeryconfig
from app.engine.dispatch import Message, Notify, RunAction
from app.workers.dispatch import BATCH_SIZE, RUN_ACTION, CeleryDispatcher


@pytest.fixture()
def queue() -> str:
    return f"test-batches-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def dispatcher(redis_url: str, queue: str) -> Iterator[CeleryDispatcher]:
    app = Celery("test_dispatch_batches")
    app.config_from_object(celeryconfig)
    app.conf.update(broker_url=redis_url, task_default_queue=queue)
    try:
        yield CeleryDispatcher(app)
    finally:
        app.close()


def _queued(redis_url: str, queue: str) -> list[dict[str, Any]]:
    """The messages in ``queue``, oldest first, as (task name, task id, arguments)."""
    client = redis.Redis.from_url(redis_url)
    found = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        args = json.loads(base64.b64decode(envelope["body"]))[0]
        found.append({"task": envelope["headers"]["task"], "id": envelope["headers"]["id"], "args": args})
    client.delete(queue)
    return found


def _actions(count: int) -> list[Message]:
    return [RunAction(str(uuid.uuid4()), "bench.noop", None, "wf", f"t{index}") for index in range(count)]


def test_a_fan_out_reaches_the_queue_in_order_in_a_few_round_trips(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    flushes = []
    real_flush = kombu_redis.PublishBatch.flush

    def counted_flush(self: Any) -> None:
        flushes.append(self._buffered)
        real_flush(self)

    monkeypatch.setattr(kombu_redis.PublishBatch, "flush", counted_flush)
    messages = _actions(3 * BATCH_SIZE + 2)
    dispatcher.send(messages)

    queued = _queued(redis_url, queue)
    assert [m["id"] for m in queued] == [m.action_execution_id for m in messages]  # type: ignore[attr-defined]
    assert {m["task"] for m in queued} == {RUN_ACTION}
    assert queued[0]["args"] == [messages[0].action_execution_id]  # type: ignore[attr-defined]
    # One round trip per BATCH_SIZE messages, the last one for the rest.
    assert [count for count in flushes if count] == [BATCH_SIZE, BATCH_SIZE, BATCH_SIZE, 2]


def test_a_failed_batch_is_sent_again_one_by_one_and_notifications_once(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # The first batch reaches Redis, the second fails as a lost connection makes it fail: delivery
    # is uncertain, so every message is sent again, and the first batch's arrive twice.
    flushes = []
    real_flush = kombu_redis.PublishBatch.flush

    def second_flush_fails(self: Any) -> None:
        flushes.append(self._buffered)
        if len(flushes) == 2:
            def lost(*_: Any, **__: Any) -> None:
                raise redis.ConnectionError("the broker went away for a moment")
            self.pipeline.execute = lost
        real_flush(self)

    monkeypatch.setattr(kombu_redis.PublishBatch, "flush", second_flush_fails)
    actions = _actions(BATCH_SIZE + 3)
    ids = [m.action_execution_id for m in actions]  # type: ignore[attr-defined]
    notification = Notify("http://127.0.0.1:1/hook", {}, {"event": "WORKFLOW_SUCCEEDED", "id": "x"})
    with caplog.at_level(logging.WARNING, logger="app.workers.dispatch"):
        dispatcher.send([*actions[:2], notification, *actions[2:]])

    queued = _queued(redis_url, queue)
    sent_actions = [m["id"] for m in queued if m["task"] == RUN_ACTION]
    assert flushes[:2] == [BATCH_SIZE, 3]
    assert sent_actions == ids[:BATCH_SIZE] + ids
    assert [m["task"] for m in queued].count("tramontane.notify") == 1
    assert f"sending {BATCH_SIZE + 3} messages in batches failed" in caplog.text

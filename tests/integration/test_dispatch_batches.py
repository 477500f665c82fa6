"""The dispatcher writes the engine's tasks to Redis directly, in batches, as Celery would send
them; through Celery's producer again if that fails, and one by one if a batch fails there (a real
Redis, the Celery app's own producer)."""

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
from celery._state import pop_current_task, push_current_task
from kombu.transport import redis as kombu_redis

import celeryconfig
from app.engine.dispatch import ContinueAfterAction, ContinueParent, Message, Notify, RunAction, RunInline
from app.workers.dispatch import BATCH_SIZE, CeleryDispatcher
from app.workers.task_messages import TaskMessages
from app.workers.task_names import RUN_ACTION


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


def _pushes(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[int]:
    """The sizes of the direct pushes; the one numbered ``fail_at`` (from 1) fails as a lost connection."""
    pushes: list[int] = []
    real_push = TaskMessages.push

    def counted_push(self: TaskMessages, messages: Any) -> None:
        pushes.append(len(messages))
        if len(pushes) == fail_at:
            raise redis.ConnectionError("the broker went away for a moment")
        real_push(self, messages)

    monkeypatch.setattr(TaskMessages, "push", counted_push)
    return pushes


def test_a_fan_out_reaches_the_queue_in_order_in_a_few_round_trips(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pushes = _pushes(monkeypatch)
    messages = _actions(3 * BATCH_SIZE + 2)
    dispatcher.send(messages)

    queued = _queued(redis_url, queue)
    assert [m["id"] for m in queued] == [m.action_execution_id for m in messages]  # type: ignore[attr-defined]
    assert {m["task"] for m in queued} == {RUN_ACTION}
    assert queued[0]["args"] == [messages[0].action_execution_id]  # type: ignore[attr-defined]
    # One round trip per BATCH_SIZE messages, the last one for the rest.
    assert pushes == [BATCH_SIZE, BATCH_SIZE, BATCH_SIZE, 2]


def test_a_failed_push_is_sent_again_through_celery_and_notifications_once(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # The first batch reaches Redis, the second fails as a lost connection makes it fail: delivery
    # is uncertain, so every message is sent again (through Celery), and the first batch's arrive twice.
    pushes = _pushes(monkeypatch, fail_at=2)
    flushes = []
    real_flush = kombu_redis.PublishBatch.flush

    def counted_flush(self: Any) -> None:
        flushes.append(self._buffered)
        real_flush(self)

    monkeypatch.setattr(kombu_redis.PublishBatch, "flush", counted_flush)
    actions = _actions(BATCH_SIZE + 3)
    ids = [m.action_execution_id for m in actions]  # type: ignore[attr-defined]
    notification = Notify("http://127.0.0.1:1/hook", {}, {"event": "WORKFLOW_SUCCEEDED", "id": "x"})
    with caplog.at_level(logging.WARNING, logger="app.workers.dispatch"):
        dispatcher.send([*actions[:2], notification, *actions[2:]])

    queued = _queued(redis_url, queue)
    sent_actions = [m["id"] for m in queued if m["task"] == RUN_ACTION]
    assert pushes == [BATCH_SIZE, 3]
    assert [count for count in flushes if count] == [BATCH_SIZE, 3]   # Celery's batches, the second time
    assert sent_actions == ids[:BATCH_SIZE] + ids
    assert [m["task"] for m in queued].count("tramontane.notify") == 1
    assert f"pushing {BATCH_SIZE + 3} messages to Redis failed" in caplog.text


def test_a_failed_batch_through_celery_is_sent_again_one_by_one(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # A broker that is not Redis, or a push that failed, leaves the messages to Celery's batches;
    # a batch that fails there is sent again message by message.
    monkeypatch.setattr(dispatcher, "direct", None)
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
    with caplog.at_level(logging.WARNING, logger="app.workers.dispatch"):
        dispatcher.send(actions)

    sent_actions = [m["id"] for m in _queued(redis_url, queue) if m["task"] == RUN_ACTION]
    assert flushes[:2] == [BATCH_SIZE, 3]
    assert sent_actions == ids[:BATCH_SIZE] + ids
    assert f"sending {BATCH_SIZE + 3} messages in batches failed" in caplog.text


def _envelopes(redis_url: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    found = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
    client.delete(queue)
    return found


@pytest.mark.parametrize("message", [
    RunAction("0f0f0f0f-0000-4000-8000-000000000001", "bench.noop", None, "wf", "t1"),
    RunInline("0f0f0f0f-0000-4000-8000-000000000002", ["a1", "a2"]),
    ContinueAfterAction("0f0f0f0f-0000-4000-8000-000000000003"),
    ContinueParent("0f0f0f0f-0000-4000-8000-000000000004"),
], ids=["run_action", "run_inline", "continue_after_action", "continue_parent"])
def test_a_pushed_message_is_the_one_celery_sends(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, message: Message) -> None:
    dispatcher.send([message])
    dispatcher._send(message)   # noqa: SLF001 - the same message through Celery's publishing
    pushed, published = _envelopes(redis_url, queue)

    assert pushed["body"] == published["body"]
    assert base64.b64decode(pushed["body"]) and pushed["content-type"] == published["content-type"]
    per_message = {"id", "root_id", "correlation_id", "delivery_tag"}
    if isinstance(message, RunAction):
        per_message -= {"id", "root_id", "correlation_id"}   # the action's id is the task's
    assert {k: v for k, v in pushed["headers"].items() if k not in per_message} == \
        {k: v for k, v in published["headers"].items() if k not in per_message}
    # Celery copies kwargsrepr into the properties as well; nothing reads it there.
    published_properties = {k: v for k, v in published["properties"].items() if k != "kwargsrepr"}
    assert pushed["properties"].keys() == published_properties.keys()
    assert {k: v for k, v in pushed["properties"].items() if k not in per_message} == \
        {k: v for k, v in published_properties.items() if k not in per_message}


def test_an_action_with_a_target_goes_to_the_targets_queue(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str) -> None:
    target = f"{queue}-target"
    message = RunAction(str(uuid.uuid4()), "bench.noop", target, "wf", "t1")
    dispatcher.send([message])

    assert _queued(redis_url, queue) == []
    (queued,) = _queued(redis_url, target)
    assert queued["id"] == message.action_execution_id


def test_a_message_sent_by_a_running_task_names_its_parent_and_root_as_celery_does(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str) -> None:
    # What a worker's continuation sends: Flower links it to the task that sent it.
    @dispatcher.celery.task(name="test.parent", shared=False)
    def parent() -> None:
        return None

    parent.push_request(id="the-parent-task", root_id="the-root-task", called_directly=False)
    push_current_task(parent)
    try:
        message = RunInline(str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(100)])
        dispatcher.send([message])
        dispatcher._send(message)   # noqa: SLF001 - the same message through Celery's publishing
    finally:
        pop_current_task()
        parent.pop_request()
    pushed, published = _envelopes(redis_url, queue)

    for envelope in (pushed, published):
        assert (envelope["headers"]["parent_id"], envelope["headers"]["root_id"]) == ("the-parent-task",
                                                                                      "the-root-task")
    # A long argument list is cut in the headers as Celery cuts it.
    assert len(pushed["headers"]["argsrepr"]) < 1100
    assert pushed["headers"]["argsrepr"] == published["headers"]["argsrepr"]


def test_after_a_failed_push_the_next_messages_go_through_celery_for_a_while(
        dispatcher: CeleryDispatcher, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pushes = _pushes(monkeypatch, fail_at=1)
    first, second = _actions(1), _actions(1)
    dispatcher.send(first)
    dispatcher.send(second)

    assert pushes == [1]   # the second send did not try Redis directly again
    assert [m["id"] for m in _queued(redis_url, queue)] == [
        first[0].action_execution_id, second[0].action_execution_id]  # type: ignore[attr-defined]
    assert dispatcher.direct is not None and not dispatcher.direct.available()

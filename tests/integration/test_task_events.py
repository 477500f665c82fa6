"""The worker's task events reach Flower's channel complete, several tasks' events to a message
(``app.workers.event_batching``), rather than a message or two per task."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import redis

from app.workers.event_batching import FLUSH_SECONDS
from tests.support.stack import LiveStack

ITEMS = 30
WORKFLOW = f"""
version: '2.0'
events_batched_wf:
  tasks:
    each:
      with-items: i in <% range({ITEMS}) %>
      # With a delay an echo runs on a worker (without one it is glue, completed in the engine).
      action: std.echo output=<% $.i %> delay=0.001
"""


def _events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The task events one PUBLISH on Celery's event exchange carried."""
    envelope = json.loads(message["data"])
    body = envelope["body"]
    if envelope.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    events = json.loads(body)
    return events if isinstance(events, list) else [events]


def test_task_events_arrive_complete_and_batched(stack: LiveStack) -> None:
    subscriber = redis.Redis.from_url(stack.settings.broker_url).pubsub(ignore_subscribe_messages=True)
    subscriber.psubscribe("*celeryev*")
    try:
        stack.create_workflow(WORKFLOW)
        execution = stack.start_execution("events_batched_wf")
        # Read as they are published, so each message's arrival time is (about) its publication's.
        ours: set[str] = set()
        succeeded: set[str] = set()
        arrivals: list[float] = []
        events = 0
        deadline = time.monotonic() + 120
        while not (len(ours) == ITEMS and ours <= succeeded):
            assert time.monotonic() < deadline, f"{len(ours)} tasks received, {len(succeeded & ours)} succeeded"
            message = subscriber.get_message(timeout=1.0)
            if message is None:
                continue
            batch = _events(message)
            received = {e["uuid"] for e in batch if e.get("type") == "task-received"
                        and str(e.get("name", "")).startswith("events_batched_wf.each")}
            ours |= received
            succeeded |= {e["uuid"] for e in batch if e.get("type") == "task-succeeded"}
            mine = [e for e in batch if e.get("uuid") in ours]
            if mine:
                arrivals.append(time.monotonic())
                events += len(mine)
    finally:
        subscriber.close()
    assert stack.wait_for_state(execution["id"], timeout=120)["state"] == "SUCCESS"
    # Received, started and succeeded for every item, in messages at least FLUSH_SECONDS apart
    # (give or take the delivery's jitter), however fast or slow the worker ran them; one by one,
    # Celery sends a message or two per task, many within one such interval.
    assert events == 3 * ITEMS
    spread = arrivals[-1] - arrivals[0]
    assert len(arrivals) <= spread / FLUSH_SECONDS + 2, \
        f"{events} events in {len(arrivals)} messages over {spread:.2f} s"

"""The scheduler embedded in a Celery worker (``--with-scheduler``, as ``tramontane up`` runs it)."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from app.config import Settings
from tests.support.stack import LiveStack, private_stack

TIMERS = """
version: '2.0'
embedded_timers:
  tasks:
    later:
      wait-before: 3
      action: std.echo output=fired
      publish: {fired: <% task().result %>}
"""


@pytest.fixture()
def embedded_stack(settings: Settings, tmp_path: Path) -> Iterator[LiveStack]:
    # The prefork pool: the one that forks while the scheduler thread runs (threads is the default).
    prefork = replace(settings, worker_pool="prefork")
    with private_stack(prefork, tmp_path, worker_concurrency=2, embedded_scheduler=True) as (stack, _):
        yield stack


def test_the_worker_fires_timers_while_its_pool_children_are_replaced(embedded_stack: LiveStack) -> None:
    stack = embedded_stack
    assert "scheduler" not in stack.processes
    worker = psutil.Process(stack.processes["worker"].pid)
    stack.create_workflow(TIMERS)
    ids = [stack.start_execution("embedded_timers")["id"] for _ in range(5)]
    # The pool forks replacements while the scheduler thread works in the same process.
    children = worker.children()
    assert len(children) == 2
    for child in children:
        child.kill()
    finals = {ex_id: stack.wait_for_state(ex_id, timeout=60) for ex_id in ids}
    for ex_id in ids:
        assert finals[ex_id]["state"] == "SUCCESS", finals[ex_id]
        assert json.loads(finals[ex_id]["output"]) == {"fired": "fired"}
        task = stack.tasks_of(ex_id)[0]
        actions = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"]
        assert len(actions) == 1, "the timer fired more than once"
    health = stack.get("/health").json()
    assert health["scheduler"]["ok"] is True
    assert health["scheduler"]["owner"].endswith(f":{worker.pid}")


def test_sigterm_stops_the_embedded_scheduler_with_the_worker(embedded_stack: LiveStack) -> None:
    stack = embedded_stack
    live = stack.get("/health").json()["workers"]
    assert live["ok"] is True
    assert [(w["name"], w["pool"], w["concurrency"]) for w in live["live"]] == [
        (f"test-{stack.port}@{socket.gethostname()}", "prefork", 2)]
    process = stack.processes["worker"]
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert process.wait(timeout=30) == 0
    assert time.monotonic() - started < 30
    assert re.search(rf"scheduler \S+:{process.pid} stopped", stack.log("worker"))
    # A worker that stops cleanly leaves the list at once, not when its key expires.
    assert stack.get("/health").json()["workers"] == {"ok": False, "error": "no live worker", "live": []}

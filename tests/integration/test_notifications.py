"""``params.notify``: webhooks hear of workflow and task events, sub-workflows included."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.stack import LiveStack

PARENT = """
version: '2.0'
notify_child:
  tasks:
    inner:
      action: std.noop
notify_parent:
  tasks:
    first:
      action: std.echo output=1
      on-success: [call]
    call:
      workflow: notify_child
"""

FAILING = """
version: '2.0'
notify_failing:
  tasks:
    broken:
      action: std.fail
"""


class Webhook:
    """A real HTTP server that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                outer.received.append((json.loads(self.rfile.read(length)), dict(self.headers)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events_of(self, execution_ids: set[str]) -> list[tuple[str, str, str]]:
        """(event, name, id) of every event about these executions or their tasks."""
        return [(body["event"], body["name"], body["id"]) for body, _ in self.received
                if body["id"] in execution_ids or body.get("workflow_execution_id") in execution_ids]

    def wait_for(self, execution_ids: set[str], event: str, name: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(e == event and n == name for e, n, _ in self.events_of(execution_ids)):
            assert time.monotonic() < deadline, (event, name, self.events_of(execution_ids))
            time.sleep(0.05)

    def wait_for_all(self, execution_ids: set[str], expected: set[tuple[str, str]], timeout: float = 20) -> None:
        """Wait until every (event, name) of ``expected`` arrived: a worker sends each event as its
        own message, so they may arrive in any order."""
        deadline = time.monotonic() + timeout
        while True:
            names = {(event, name) for event, name, _ in self.events_of(execution_ids)}
            if expected <= names:
                return
            assert time.monotonic() < deadline, (expected - names, names)
            time.sleep(0.05)


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


def test_workflow_and_task_events_reach_the_webhook_with_sub_workflows(stack: LiveStack, webhook: Webhook) -> None:
    stack.create_workflow(PARENT)
    notify = [{"type": "webhook", "url": webhook.url, "headers": {"X-Secret": "s3"}}]
    execution = stack.start_execution("notify_parent", params={"notify": notify})
    assert stack.wait_for_state(execution["id"])["state"] == "SUCCESS"
    child = stack.get("/v2/executions", params={"root_execution_id": execution["id"]}).json()["executions"]
    assert len(child) == 1
    ids = {execution["id"], child[0]["id"]}
    webhook.wait_for_all(ids, {("WORKFLOW_SUCCEEDED", "notify_parent"), ("WORKFLOW_SUCCEEDED", "notify_child"),
                               ("TASK_LAUNCHED", "first"), ("TASK_SUCCEEDED", "first"), ("TASK_LAUNCHED", "call"),
                               ("TASK_SUCCEEDED", "call"), ("TASK_LAUNCHED", "inner"), ("TASK_SUCCEEDED", "inner")})
    events = webhook.events_of(ids)
    for expected in [("WORKFLOW_LAUNCHED", "notify_parent", execution["id"]),
                     ("WORKFLOW_LAUNCHED", "notify_child", child[0]["id"])]:
        assert expected in events
    names = {(event, name) for event, name, _ in events}
    assert {("TASK_LAUNCHED", "first"), ("TASK_SUCCEEDED", "first"), ("TASK_LAUNCHED", "call"),
            ("TASK_SUCCEEDED", "call"), ("TASK_LAUNCHED", "inner"), ("TASK_SUCCEEDED", "inner")} <= names
    # One event per change: nothing is told twice.
    assert len(events) == len(set(events))
    body, headers = next((b, h) for b, h in webhook.received if b["id"] == execution["id"]
                         and b["event"] == "WORKFLOW_SUCCEEDED")
    assert headers["X-Secret"] == "s3"
    assert body["state"] == "SUCCESS" and body["workflow_name"] == "notify_parent"


def test_event_types_filter_and_a_failure(stack: LiveStack, webhook: Webhook) -> None:
    stack.create_workflow(FAILING)
    notify = [{"type": "webhook", "url": webhook.url, "event_types": ["WORKFLOW_FAILED", "TASK_FAILED"]}]
    execution = stack.start_execution("notify_failing", params={"notify": notify})
    assert stack.wait_for_state(execution["id"])["state"] == "ERROR"
    webhook.wait_for({execution["id"]}, "WORKFLOW_FAILED", "notify_failing")
    webhook.wait_for({execution["id"]}, "TASK_FAILED", "broken")
    stack.wait_until_worker_idle()  # every event sent before the last has been delivered too
    assert sorted(event for event, _, _ in webhook.events_of({execution["id"]})) == ["TASK_FAILED",
                                                                                     "WORKFLOW_FAILED"]


@pytest.fixture(scope="module")
def refused_workflow(stack: LiveStack) -> None:
    stack.create_workflow(FAILING.replace("notify_failing", "notify_refused"))


@pytest.mark.parametrize("notify, message", [
    ("http://example.com", "must be a list"),
    ([{"type": "email", "url": "http://x"}], "webhook"),
    ([{"type": "webhook", "url": "ftp://x"}], "http or https"),
    ([{"type": "webhook", "url": "http://x", "event_types": ["WORKFLOW_EXPLODED"]}], "event_types"),
])
def test_bad_notify_is_refused_before_anything_is_stored(stack: LiveStack, refused_workflow: None, notify: Any,
                                                        message: str) -> None:
    before = stack.get("/v2/executions", params={"workflow_name": "notify_refused"}).json()["executions"]
    response = stack.post("/v2/executions", json={"workflow_name": "notify_refused",
                                                  "params": json.dumps({"notify": notify})})
    assert response.status_code == 400 and message in response.json()["faultstring"]
    after = stack.get("/v2/executions", params={"workflow_name": "notify_refused"}).json()["executions"]
    assert after == before


def test_pause_resume_and_an_empty_with_items(stack: LiveStack, webhook: Webhook) -> None:
    stack.create_workflow("""
version: '2.0'
notify_waiting:
  tasks:
    nothing:
      with-items: x in []
      action: std.noop
      on-success: [wait]
    wait:
      action: std.async_noop
""")
    execution = stack.start_execution("notify_waiting", params={"notify": [{"type": "webhook", "url": webhook.url}]})
    webhook.wait_for({execution["id"]}, "TASK_LAUNCHED", "wait")
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "PAUSED"}).status_code == 200
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "RUNNING"}).status_code == 200
    webhook.wait_for({execution["id"]}, "WORKFLOW_RESUMED", "notify_waiting")
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "CANCELLED"}).status_code == 200
    webhook.wait_for({execution["id"]}, "WORKFLOW_CANCELLED", "notify_waiting")
    # As in Mistral, the cancel leaves the waiting task alone: its action, completed later, ends it.
    wait_task = next(task for task in stack.tasks_of(execution["id"]) if task["name"] == "wait")
    action = stack.get(f"/v2/tasks/{wait_task['id']}/action_executions").json()["action_executions"][0]
    assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 1}).status_code == 200
    webhook.wait_for({execution["id"]}, "TASK_SUCCEEDED", "wait")
    names = {(event, name) for event, name, _ in webhook.events_of({execution["id"]})}
    assert {("TASK_LAUNCHED", "nothing"), ("TASK_SUCCEEDED", "nothing"),
            ("WORKFLOW_PAUSED", "notify_waiting")} <= names
    assert ("TASK_CANCELLED", "wait") not in names

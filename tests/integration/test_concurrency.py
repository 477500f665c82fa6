"""Every state change happens exactly once under concurrency (run on SQLite and PostgreSQL).

Item order whatever the completion order is rehearsed in-process (``tests/engine/test_wide.py``);
here real workers and real callbacks race.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psutil
import pytest
import requests

from tests.support.stack import LiveStack

BRANCHES = 200


def _wide_join() -> str:
    lines = ["version: '2.0'", "conc_wide_join:", "  tasks:", "    fork:",
             f"      on-success: [{', '.join(f'b{i}' for i in range(BRANCHES))}]"]
    for i in range(BRANCHES):
        lines += [f"    b{i}:", f"      action: std.echo output={i}",
                  f"      publish: {{v{i}: <% task().result %>}}", "      on-success: [together]"]
    lines += ["    together:", "      join: all", "      action: std.noop",
              "      publish: {joined: true}"]
    return "\n".join(lines) + "\n"


WAITING = """
version: '2.0'
conc_waiting:
  tasks:
    wait:
      action: std.async_noop
      publish: {got: <% task().result %>}
"""


def test_wide_join_runs_once_and_sees_every_branch(stack: LiveStack) -> None:
    stack.create_workflow(_wide_join())
    execution = stack.start_execution("conc_wide_join")
    done = stack.wait_for_state(execution["id"], timeout=240)
    assert done["state"] == "SUCCESS", done
    output = json.loads(done["output"])
    assert {key: output[key] for key in output if key.startswith("v")} == {f"v{i}": i for i in range(BRANCHES)}
    assert output["joined"] is True
    tasks = stack.get(f"/v2/executions/{execution['id']}/tasks", params={"name": "together"}).json()["tasks"]
    assert len(tasks) == 1


def _running_actions(stack: LiveStack, expected: int) -> list[str]:
    deadline = time.monotonic() + 120
    while True:
        actions = stack.get("/v2/action_executions",
                            params={"state": "RUNNING", "workflow_name": "conc_waiting"}).json()["action_executions"]
        if len(actions) >= expected:
            return [a["id"] for a in actions]
        assert time.monotonic() < deadline, f"only {len(actions)} actions are waiting"
        time.sleep(0.1)


def test_concurrent_and_duplicate_callbacks_complete_each_action_once(stack: LiveStack) -> None:
    stack.create_workflow(WAITING)
    executions = [stack.start_execution("conc_waiting")["id"] for _ in range(100)]
    action_ids = _running_actions(stack, 100)
    calls = [(action_id, copy) for action_id in action_ids for copy in (1, 2)]

    def complete(call: tuple[str, int]) -> tuple[str, int]:
        action_id, copy = call
        response = requests.put(stack.url(f"/v2/action_executions/{action_id}"), timeout=60,
                                json={"state": "SUCCESS", "output": {"copy": copy}})
        return action_id, response.status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(complete, calls))
    by_action: dict[str, list[int]] = {}
    for action_id, status in results:
        by_action.setdefault(action_id, []).append(status)
    assert all(sorted(codes) == [200, 409] for codes in by_action.values()), by_action
    finals = [stack.wait_for_state(ex_id, timeout=120) for ex_id in executions]
    assert [f["state"] for f in finals] == ["SUCCESS"] * 100
    assert all(json.loads(f["output"])["got"]["copy"] in (1, 2) for f in finals)


MEETING = """
version: '2.0'
conc_meeting:
  input: [url]
  tasks:
    first:
      action: std.http url=<% $.url %>
      publish: {first: <% task().result.content %>}
    second:
      action: std.http url=<% $.url %>
      publish: {second: <% task().result.content %>}
"""


@pytest.fixture()
def meeting_point() -> Iterator[str]:
    """A web service that answers each request only once a second one has arrived."""
    barrier = threading.Barrier(2, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server naming
            try:
                barrier.wait()
                body = b"met"
            except threading.BrokenBarrierError:
                body = b"alone"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/meet"
    finally:
        server.shutdown()
        server.server_close()


def test_the_worker_runs_actions_at_once_on_threads_of_one_process(stack: LiveStack, meeting_point: str) -> None:
    stack.create_workflow(MEETING)
    execution = stack.start_execution("conc_meeting", {"url": meeting_point})
    done = stack.wait_for_state(execution["id"], timeout=90)
    assert done["state"] == "SUCCESS", done
    # Each request was answered only because the other was in flight at the same time.
    assert json.loads(done["output"]) == {"first": "met", "second": "met"}
    assert stack.settings.worker_pool == "threads"
    assert psutil.Process(stack.processes["worker"].pid).children() == []
    workers = stack.get("/health").json()["workers"]["live"]
    assert {(w["pool"], w["concurrency"]) for w in workers if w["name"].startswith(f"test-{stack.port}@")} == {
        ("threads", 4)}

"""Pause and resume an execution with ``PUT /v2/executions/<id>`` through the live stack.

Cancel, fail, succeed, invalid updates, cascades to sub-workflows and paused async actions are
rehearsed in-process in ``tests/engine/rehearsals/execution_control/`` and ``async/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.support.stack import LiveStack

TWO_WAITS = """
version: '2.0'
ctl_two_waits:
  tasks:
    first:
      action: std.async_noop
      publish: {first: <% task().result %>}
      on-success: [second]
    second:
      action: std.echo output=<% $.first %>
      publish: {second: <% task().result %>}
"""


def _wait_for(what: str, probe: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.05)
    return found


def test_pause_holds_the_next_task_until_resume(stack: LiveStack) -> None:
    stack.create_workflow(TWO_WAITS)
    execution = stack.start_execution("ctl_two_waits")

    def running_action() -> dict | None:
        tasks = stack.tasks_of(execution["id"])
        actions = stack.get(f"/v2/tasks/{tasks[0]['id']}/action_executions").json()["action_executions"] \
            if tasks else []
        return next((a for a in actions if a["state"] == "RUNNING"), None)

    action = _wait_for("running action", running_action)
    paused = stack.put(f"/v2/executions/{execution['id']}", json={"state": "PAUSED"})
    assert paused.status_code == 200 and paused.json()["state"] == "PAUSED"
    assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 7}).ok
    # The worker applied the result (the task completed); the paused workflow started nothing after it.
    _wait_for("completed task", lambda: stack.tasks_of(execution["id"])[0]["state"] == "SUCCESS")
    assert [t["name"] for t in stack.tasks_of(execution["id"])] == ["first"]
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "PAUSED"
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "RUNNING"}).json()["state"] == "RUNNING"
    done = stack.wait_for_state(execution["id"])
    assert json.loads(done["output"]) == {"first": 7, "second": 7}

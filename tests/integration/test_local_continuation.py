"""A chain of sync tasks continues in the worker that ran the previous task, without a broker hop."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

CHAIN = """
version: '2.0'
local_chain:
  tasks:
    one:
      action: std.echo output=1
      publish: {total: <% task().result %>}
      on-success: two
    two:
      action: std.echo output=<% $.total + 1 %>
      publish: {total: <% task().result %>}
      on-success: three
    three:
      action: std.echo output=<% $.total + 1 %>
      publish: {total: <% task().result %>}
      on-success: four
    four:
      target: elsewhere
      action: std.echo output=<% $.total + 1 %>
      publish: {total: <% task().result %>}
"""


def test_a_chain_takes_the_broker_once_per_queue(stack: LiveStack) -> None:
    stack.create_workflow(CHAIN)
    started = stack.start_execution("local_chain")
    # The worker does not consume the "elsewhere" queue: "four" waits there.
    deadline = time.monotonic() + 60
    tasks: dict[str, dict] = {}
    while time.monotonic() < deadline:
        tasks = {t["name"]: t for t in stack.tasks_of(started["id"])}
        if tasks.get("three", {}).get("state") == "SUCCESS" and "four" in tasks:
            break
        time.sleep(0.1)
    assert [tasks[name]["state"] for name in ("one", "two", "three")] == ["SUCCESS"] * 3
    assert tasks["four"]["state"] == "RUNNING"
    log = stack.log("worker")
    received = {name: 0 for name in tasks}
    for name, task in tasks.items():
        actions = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"]
        received[name] = sum(f"[{action['id']}]" in line and "received" in line
                             for action in actions for line in log.splitlines())
    assert received == {"one": 1, "two": 0, "three": 0, "four": 0}
    assert json.loads(tasks["three"]["published"]) == {"total": 3}
    stack.put(f"/v2/executions/{started['id']}", json={"state": "CANCELLED"})

"""Pause, resume, cancel, fail and succeed an execution with ``PUT /v2/executions/<id>``."""

from __future__ import annotations

import json
import time

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

NESTED = """
version: '2.0'
ctl_inner:
  tasks:
    wait:
      action: std.async_noop
ctl_outer:
  tasks:
    call:
      workflow: ctl_inner
"""


def _running_action_of(stack: LiveStack, execution_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        actions = stack.get("/v2/action_executions", params={"state": "RUNNING"}).json()["action_executions"]
        tasks = {t["id"] for t in stack.tasks_of(execution_id)}
        mine = [a for a in actions if a["task_execution_id"] in tasks]
        if mine:
            return mine[0]
        time.sleep(0.05)
    raise AssertionError("no running action")


def test_pause_holds_the_next_task_until_resume(stack: LiveStack) -> None:
    stack.create_workflow(TWO_WAITS)
    execution = stack.start_execution("ctl_two_waits")
    action = _running_action_of(stack, execution["id"])
    paused = stack.put(f"/v2/executions/{execution['id']}", json={"state": "PAUSED"})
    assert paused.status_code == 200 and paused.json()["state"] == "PAUSED"
    assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 7}).ok
    time.sleep(0.5)
    assert [t["name"] for t in stack.tasks_of(execution["id"])] == ["first"]
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "PAUSED"
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "RUNNING"}).json()["state"] == "RUNNING"
    done = stack.wait_for_state(execution["id"])
    assert json.loads(done["output"]) == {"first": 7, "second": 7}


def test_cancel_ends_tasks_and_refuses_late_callbacks(stack: LiveStack) -> None:
    stack.create_workflow(TWO_WAITS.replace("ctl_two_waits", "ctl_cancel"))
    execution = stack.start_execution("ctl_cancel")
    action = _running_action_of(stack, execution["id"])
    cancelled = stack.put(f"/v2/executions/{execution['id']}",
                          json={"state": "CANCELLED", "state_info": "no longer needed"})
    assert cancelled.json()["state"] == "CANCELLED"
    assert json.loads(cancelled.json()["output"]) == {"result": "no longer needed"}
    assert stack.tasks_of(execution["id"])[0]["state"] == "CANCELLED"
    late = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS"})
    assert late.status_code == 409


def test_force_fail_and_invalid_updates(stack: LiveStack) -> None:
    stack.create_workflow(TWO_WAITS.replace("ctl_two_waits", "ctl_fail"))
    execution = stack.start_execution("ctl_fail")
    _running_action_of(stack, execution["id"])
    failed = stack.put(f"/v2/executions/{execution['id']}", json={"state": "ERROR", "state_info": "Force"})
    assert failed.json()["state"] == "ERROR"
    assert failed.json()["state_info"] == "Force"
    again = stack.put(f"/v2/executions/{execution['id']}", json={"state": "PAUSED"})
    assert again.status_code == 400
    assert "ERROR to PAUSED" in again.json()["faultstring"]
    nothing = stack.put(f"/v2/executions/{execution['id']}", json={})
    assert nothing.status_code == 400
    bogus = stack.put(f"/v2/executions/{execution['id']}", json={"state": "EXPLODED"})
    assert bogus.status_code == 400
    described = stack.put(f"/v2/executions/{execution['id']}", json={"description": "post mortem"})
    assert described.json()["description"] == "post mortem"


def test_cancel_cascades_to_sub_workflows(stack: LiveStack) -> None:
    stack.create_workflow(NESTED)
    execution = stack.start_execution("ctl_outer")
    deadline = time.monotonic() + 20
    children: list = []
    while not children and time.monotonic() < deadline:
        children = stack.get(f"/v2/executions?root_execution_id={execution['id']}").json()["executions"]
        time.sleep(0.05)
    assert children
    stack.put(f"/v2/executions/{execution['id']}", json={"state": "CANCELLED"})
    child = stack.get(f"/v2/executions/{children[0]['id']}").json()
    assert child["state"] == "CANCELLED"
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "CANCELLED"


def test_pausing_an_async_action_pauses_its_workflow(stack: LiveStack) -> None:
    stack.create_workflow(TWO_WAITS.replace("ctl_two_waits", "ctl_action_pause"))
    execution = stack.start_execution("ctl_action_pause")
    action = _running_action_of(stack, execution["id"])
    paused = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "PAUSED"})
    assert paused.status_code == 200 and paused.json()["state"] == "PAUSED"
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "PAUSED"
    assert stack.tasks_of(execution["id"])[0]["state"] == "PAUSED"
    resumed = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "RUNNING"})
    assert resumed.json()["state"] == "RUNNING"
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "RUNNING"
    stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 1})
    assert stack.wait_for_state(execution["id"])["state"] == "SUCCESS"

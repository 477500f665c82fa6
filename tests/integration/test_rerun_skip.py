"""``PUT /v2/tasks/<id>``: rerun a failed task (with or without reset) or skip it."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

CHECKED = """
version: '2.0'
rr_checked:
  tasks:
    check:
      action: std.echo output=<% env().verdict %>
      fail-on: <% task().result != 'ok' %>
      on-success: [after]
    after:
      action: std.echo output=<% env().verdict %>
      publish: {final: <% task().result %>}
"""

ITEMS = """
version: '2.0'
rr_items:
  tasks:
    ask_all:
      with-items: i in [1, 2, 3]
      action: std.async_noop
      publish: {answers: <% task().result %>}
"""

SKIPPABLE = """
version: '2.0'
rr_skippable:
  tasks:
    broken:
      action: std.fail
      publish-on-skip: {skipped: true}
      on-success: [next]
    next:
      action: std.echo output=<% $.skipped %>
      publish: {saw: <% task().result %>}
"""


def _task(stack: LiveStack, execution_id: str, name: str) -> dict:
    return next(t for t in stack.tasks_of(execution_id) if t["name"] == name)


def test_rerun_with_a_new_env_recovers_the_workflow(stack: LiveStack) -> None:
    stack.create_workflow(CHECKED)
    execution = stack.start_execution("rr_checked", params={"env": {"verdict": "bad"}})
    assert stack.wait_for_state(execution["id"])["state"] == "ERROR"
    check = _task(stack, execution["id"], "check")
    refused = stack.put(f"/v2/tasks/{check['id']}", json={"state": "RUNNING"})
    assert refused.status_code == 400 and "Reset field is mandatory" in refused.json()["faultstring"]
    rerun = stack.put(f"/v2/tasks/{check['id']}",
                      json={"state": "RUNNING", "reset": True, "env": json.dumps({"verdict": "ok"})})
    assert rerun.status_code == 200, rerun.text
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"final": "ok"}
    again = stack.put(f"/v2/tasks/{check['id']}", json={"state": "RUNNING", "reset": True})
    assert again.status_code == 400 and "must be in ERROR" in again.json()["faultstring"]


def _actions(stack: LiveStack, task_id: str) -> list[dict]:
    return stack.get(f"/v2/tasks/{task_id}/action_executions").json()["action_executions"]


def _wait_running(stack: LiveStack, task_id: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = [a for a in _actions(stack, task_id) if a["state"] == "RUNNING"]
        if len(running) == count:
            return running
        time.sleep(0.05)
    raise AssertionError(_actions(stack, task_id))


def test_rerun_without_reset_runs_only_the_failed_items(stack: LiveStack) -> None:
    stack.create_workflow(ITEMS)
    execution = stack.start_execution("rr_items")
    deadline = time.monotonic() + 20
    while not stack.tasks_of(execution["id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    task = stack.tasks_of(execution["id"])[0]
    running = sorted(_wait_running(stack, task["id"], 3), key=lambda a: json.loads(a["input"]) or 0)
    by_id = {a["id"]: a for a in running}
    outcomes = ["one", None, "three"]
    for action, outcome in zip(by_id.values(), outcomes, strict=True):
        state = "SUCCESS" if outcome else "ERROR"
        assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": state, "output": outcome}).ok
    assert stack.wait_for_state(execution["id"])["state"] == "ERROR"
    rerun = stack.put(f"/v2/tasks/{task['id']}", json={"state": "RUNNING", "reset": False})
    assert rerun.status_code == 200, rerun.text
    (again,) = _wait_running(stack, task["id"], 1)
    assert stack.put(f"/v2/action_executions/{again['id']}", json={"state": "SUCCESS", "output": "two"}).ok
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    answers = json.loads(done["output"])["answers"]
    assert sorted(answers) == ["one", "three", "two"] and len(_actions(stack, task["id"])) == 4


def test_skip_follows_on_success_and_publishes_on_skip(stack: LiveStack) -> None:
    stack.create_workflow(SKIPPABLE)
    execution = stack.start_execution("rr_skippable")
    assert stack.wait_for_state(execution["id"])["state"] == "ERROR"
    broken = _task(stack, execution["id"], "broken")
    skipped = stack.put(f"/v2/tasks/{broken['id']}", json={"state": "SKIPPED"})
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["state"] == "SKIPPED"
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"])["saw"] is True

"""``PUT /v2/tasks/<id>``: rerun a failed task through the API and a real worker.

Reruns with and without reset (with-items), skips and reruns inside sub-workflows are rehearsed
in-process in ``tests/engine/rehearsals/rerun_skip/``.
"""

from __future__ import annotations

import json

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

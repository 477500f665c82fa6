"""Hostile workflows and oversized input get clear errors; the service keeps working."""

from __future__ import annotations

import json

from tests.support.stack import LiveStack

HOSTILE = """
version: '2.0'
hostile_expression:
  tasks:
    spin:
      action: std.echo output=<% range(100000000).sum() %>
"""

FRIENDLY = """
version: '2.0'
after_hostile:
  tasks:
    fine:
      action: std.echo output=ok
      publish: {fine: <% task().result %>}
"""


def test_a_hostile_expression_fails_its_task_and_the_worker_goes_on(stack: LiveStack) -> None:
    stack.create_workflow(HOSTILE)
    stack.create_workflow(FRIENDLY)
    response = stack.post("/v2/executions", json={"workflow_name": "hostile_expression"})
    assert response.status_code == 201, response.text
    done = stack.wait_for_state(response.json()["id"])
    assert done["state"] == "ERROR"
    task = stack.tasks_of(done["id"])[0]
    assert "took longer than" in task["state_info"]
    after = stack.wait_for_state(stack.start_execution("after_hostile")["id"])
    assert json.loads(after["output"]) == {"fine": "ok"}


def test_oversized_input_and_definition_are_refused(stack: LiveStack) -> None:
    stack.create_workflow("version: '2.0'\nbig_input:\n  input: [blob]\n  tasks:\n    t: {}\n")
    huge = "x" * (1024 * 1024 + 10)
    refused = stack.post("/v2/executions", json={"workflow_name": "big_input", "input": {"blob": huge}})
    assert refused.status_code == 400
    assert "size limit" in refused.json()["faultstring"].lower()
    listed = stack.get("/v2/executions", params={"workflow_name": "big_input"}).json()["executions"]
    assert listed == []
    definition = "version: '2.0'\nbig_def:\n  description: " + "y" * (1024 * 1024) + "\n  tasks:\n    t: {}\n"
    too_big = stack.post("/v2/workflows", data=definition, headers={"Content-Type": "text/plain"})
    assert too_big.status_code == 400
    assert "at most" in too_big.json()["faultstring"]


def test_deeply_nested_sub_workflows_are_stopped(stack: LiveStack) -> None:
    stack.create_workflow("version: '2.0'\nrecursive:\n  tasks:\n    again:\n      workflow: recursive\n")
    done = stack.wait_for_state(stack.start_execution("recursive")["id"], timeout=120)
    assert done["state"] == "ERROR"
    family = stack.get("/v2/executions", params={"root_execution_id": done["id"]}).json()["executions"]
    assert len(family) == 20
    reasons = [t["state_info"] for ex in family for t in stack.tasks_of(ex["id"])]
    assert any("nested more than 20 levels" in (reason or "") for reason in reasons), reasons

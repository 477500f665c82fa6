"""An async action waits until a third party completes it through one of the completion routes."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.stack import LiveStack

WAITING = """
version: '2.0'
e2e_waiting:
  tasks:
    wait_for_human:
      action: std.async_noop
      publish:
        answer: <% task().result %>
  output:
    answer: <% $.answer %>
"""


def _running_action(stack: LiveStack, execution_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = stack.tasks_of(execution_id)
        if tasks:
            actions = stack.get(f"/v2/tasks/{tasks[0]['id']}/action_executions").json()["action_executions"]
            if actions and actions[0]["state"] == "RUNNING":
                return actions[0]
        time.sleep(0.05)
    raise AssertionError("no RUNNING action execution appeared")


@pytest.fixture(scope="module")
def waiting_workflow(stack: LiveStack) -> str:
    stack.create_workflow(WAITING)
    return "e2e_waiting"


@pytest.mark.parametrize("method,path", [
    ("put", "/v2/action_executions/{id}"),
    ("post", "/v2/action_executions/{id}"),
    ("post", "/v2/action-executions/{id}"),
    ("put", "/v2/action-executions/{id}"),
])
def test_each_completion_route_completes_the_action(stack: LiveStack, waiting_workflow: str,
                                                    method: str, path: str) -> None:
    execution = stack.start_execution(waiting_workflow)
    action = _running_action(stack, execution["id"])
    stack.wait_for_action_run(action["id"])  # the worker sent the request; nobody answered yet
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "RUNNING"

    response = getattr(stack, method)(path.format(id=action["id"]), json={"state": "SUCCESS", "output": 3})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "SUCCESS"
    assert json.loads(response.json()["output"]) == {"result": 3}

    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"answer": 3}


def test_second_completion_is_refused_with_409(stack: LiveStack, waiting_workflow: str) -> None:
    execution = stack.start_execution(waiting_workflow)
    action = _running_action(stack, execution["id"])
    first = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": "one"})
    assert first.status_code == 200
    second = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": "two"})
    assert second.status_code == 409
    assert "already completed" in second.json()["faultstring"]
    done = stack.wait_for_state(execution["id"])
    assert json.loads(done["output"]) == {"answer": "one"}


def test_error_completion_fails_the_task(stack: LiveStack, waiting_workflow: str) -> None:
    execution = stack.start_execution(waiting_workflow)
    action = _running_action(stack, execution["id"])
    response = stack.post(f"/v2/action-executions/{action['id']}",
                          json={"state": "ERROR", "output": "rejected by the approver"})
    assert response.status_code == 200
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "ERROR"
    task = stack.tasks_of(execution["id"])[0]
    assert task["state"] == "ERROR"
    assert task["state_info"] == "rejected by the approver"


def test_unknown_action_and_bad_state_are_client_errors(stack: LiveStack) -> None:
    missing = stack.put("/v2/action_executions/00000000-0000-0000-0000-000000000000",
                        json={"state": "SUCCESS", "output": 1})
    assert missing.status_code == 404
    assert "not found" in missing.json()["faultstring"]
    bad = stack.put("/v2/action_executions/anything", json={"state": "DONE"})
    assert bad.status_code == 400
    assert "SUCCESS" in bad.json()["faultstring"]

"""Actions from other packages: ours through ``tramontane.actions``, Mistral's through
``mistral.actions`` with mistral-lib's context and results."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

WORKFLOW = """
version: '2.0'
custom_actions:
  tasks:
    multiply:
      action: sample.multiply a=21
      publish: {product: <% task().result.product %>, where: <% task().result.task_execution_id %>}
      on-success: [mistral_echo]
    mistral_echo:
      action: sample.mistral_echo message=hello
      publish: {echo: <% task().result %>}
      on-success: [mistral_wait]
    mistral_wait:
      action: sample.mistral_waiter
      publish: {waited: <% task().result %>}
"""


def test_plugin_actions_run_with_their_contexts(stack: LiveStack) -> None:
    stack.create_workflow(WORKFLOW)
    execution = stack.start_execution("custom_actions")
    deadline = time.monotonic() + 30
    while True:
        tasks = {t["name"]: t for t in stack.tasks_of(execution["id"])}
        if "mistral_wait" in tasks:
            break
        assert time.monotonic() < deadline, tasks
        time.sleep(0.05)
    actions = stack.get(f"/v2/tasks/{tasks['mistral_wait']['id']}/action_executions").json()["action_executions"]
    assert actions[0]["state"] == "RUNNING"
    stack.wait_for_action_run(actions[0]["id"])  # the worker ran it; being async, it still waits
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "RUNNING"
    assert stack.put(f"/v2/action_executions/{actions[0]['id']}", json={"state": "SUCCESS", "output": "ok"}).ok
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    output = json.loads(done["output"])
    assert output["product"] == 42
    assert output["where"] == tasks["multiply"]["id"]
    echo_action = stack.get(f"/v2/tasks/{tasks['mistral_echo']['id']}/action_executions").json()["action_executions"][0]
    assert output["echo"] == {
        "echo": "hello", "action_execution_id": echo_action["id"],
        "callback_url": f"/v2/action_executions/{echo_action['id']}", "workflow_name": "custom_actions",
    }
    assert output["waited"] == "ok"


def test_plugin_actions_are_listed(stack: LiveStack) -> None:
    names = {a["name"]: a for a in stack.get("/v2/actions").json()["actions"]}
    assert names["sample.multiply"]["input"] == "a, b=2"
    assert names["sample.mistral_echo"]["input"] == "message"

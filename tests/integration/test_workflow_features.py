"""with-items, sub-workflows, reverse workflows and engine commands through the live stack."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

ITEMS = """
version: '2.0'
feat_items:
  input:
    - names: [anna, bob, carl, dora, emil]
  tasks:
    greet_all:
      with-items:
        - name in <% $.names %>
        - n in [1, 2, 3, 4, 5]
      concurrency: 2
      action: std.echo output="<% $.name %>-<% $.n %>"
      publish:
        greetings: <% task().result %>
"""

ASYNC_ITEMS = """
version: '2.0'
feat_async_items:
  tasks:
    approve_all:
      with-items: x in [1, 2, 3]
      concurrency: 1
      action: std.async_noop
      publish:
        answers: <% task().result %>
"""

PARENT = """
version: '2.0'
feat_child:
  input: [x]
  tasks:
    double:
      action: std.echo output=<% $.x * 2 %>
      publish: {doubled: <% task().result %>}
  output:
    doubled: <% $.doubled %>
feat_parent:
  tasks:
    call_child:
      workflow: feat_child x=21
      publish:
        from_child: <% task().result.doubled %>
"""

REVERSE = """
version: '2.0'
feat_reverse:
  type: reverse
  tasks:
    fetch:
      action: std.echo output=fetched
      publish: {a: <% task().result %>}
    build:
      requires: [fetch]
      action: std.echo output="built <% $.a %>"
      publish: {b: <% task().result %>}
    unrelated:
      action: std.fail
    deploy:
      requires: build
      action: std.echo output="deployed <% $.b %>"
      publish: {c: <% task().result %>}
"""

PAUSE_COMMAND = """
version: '2.0'
feat_pause_command:
  tasks:
    first:
      action: std.noop
      on-success:
        - pause msg="waiting for a human"
        - second
    second:
      action: std.echo output=after
      publish: {after: <% task().result %>}
"""


def test_with_items_keeps_item_order_and_honours_concurrency(stack: LiveStack) -> None:
    stack.create_workflow(ITEMS)
    execution = stack.start_execution("feat_items")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {
        "greetings": ["anna-1", "bob-2", "carl-3", "dora-4", "emil-5"],
    }


def test_with_items_over_async_starts_next_item_as_each_callback_arrives(stack: LiveStack) -> None:
    stack.create_workflow(ASYNC_ITEMS)
    execution = stack.start_execution("feat_async_items")
    answered = []
    for answer in ("a", "b", "c"):
        deadline = time.monotonic() + 20
        while True:
            task = stack.tasks_of(execution["id"])[0]
            actions = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"]
            running = [a for a in actions if a["state"] == "RUNNING"]
            if running:
                break
            assert time.monotonic() < deadline, actions
            time.sleep(0.05)
        assert len(running) == 1
        response = stack.put(f"/v2/action_executions/{running[0]['id']}",
                             json={"state": "SUCCESS", "output": answer})
        assert response.status_code == 200
        answered.append(answer)
    done = stack.wait_for_state(execution["id"])
    assert json.loads(done["output"]) == {"answers": ["a", "b", "c"]}


def test_sub_workflow_output_comes_back_to_the_parent(stack: LiveStack) -> None:
    stack.create_workflow(PARENT)
    execution = stack.start_execution("feat_parent")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"from_child": 42}
    task = stack.tasks_of(execution["id"])[0]
    assert task["type"] == "WORKFLOW"
    children = stack.get(f"/v2/executions?task_execution_id={task['id']}").json()["executions"]
    assert len(children) == 1
    assert children[0]["root_execution_id"] == execution["id"]


def test_reverse_workflow_runs_only_what_the_target_requires(stack: LiveStack) -> None:
    stack.create_workflow(REVERSE)
    execution = stack.start_execution("feat_reverse", params={"task_name": "deploy"})
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert [t["name"] for t in stack.tasks_of(execution["id"])] == ["fetch", "build", "deploy"]
    assert json.loads(done["output"])["c"] == "deployed built fetched"


def test_reverse_workflow_without_target_is_rejected(stack: LiveStack) -> None:
    stack.create_workflow(REVERSE.replace("feat_reverse", "feat_reverse_no_target"))
    response = stack.post("/v2/executions", json={"workflow_name": "feat_reverse_no_target"})
    assert response.status_code == 400
    assert "task_name" in response.json()["faultstring"]


def test_pause_command_then_resume_runs_the_backlog(stack: LiveStack) -> None:
    stack.create_workflow(PAUSE_COMMAND)
    execution = stack.start_execution("feat_pause_command")
    paused = stack.wait_for_state(execution["id"], ("PAUSED",))
    assert paused["state_info"] == "waiting for a human"
    assert [t["name"] for t in stack.tasks_of(execution["id"])] == ["first"]
    resumed = stack.put(f"/v2/executions/{execution['id']}", json={"state": "RUNNING"})
    assert resumed.status_code == 200
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"after": "after"}

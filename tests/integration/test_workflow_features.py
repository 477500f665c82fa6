"""with-items, sub-workflows and reverse workflows through the live stack, one of each.

Their variants (concurrency, async items, item order, sub-workflow items, pause, engine commands)
are rehearsed in-process in ``tests/engine/rehearsals/``.
"""

from __future__ import annotations

import json

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


def test_with_items_keeps_item_order_and_honours_concurrency(stack: LiveStack) -> None:
    stack.create_workflow(ITEMS)
    execution = stack.start_execution("feat_items")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {
        "greetings": ["anna-1", "bob-2", "carl-3", "dora-4", "emil-5"],
    }


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

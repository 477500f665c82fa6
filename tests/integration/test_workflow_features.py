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


WORKFLOW_ITEMS = """
version: '2.0'
feat_square:
  input: [n]
  tasks:
    square:
      action: std.echo output=<% $.n * $.n %>
      publish: {square: <% task().result %>}
  output: {n: <% $.n %>, square: <% $.square %>}
feat_approve:
  input: [who]
  tasks:
    ask:
      action: std.async_noop
      publish: {answer: <% task().result %>}
  output: {who: <% $.who %>, answer: <% $.answer %>}
feat_squares:
  input: [numbers]
  tasks:
    each:
      with-items: n in <% $.numbers %>
      concurrency: 2
      workflow: feat_square n=<% $.n %>
      publish: {squares: <% task().result.select($.square) %>}
  output: {squares: <% $.squares %>}
feat_approvals:
  tasks:
    each:
      with-items: who in [ann, bob, cid]
      concurrency: 2
      workflow: feat_approve
      input: {who: <% $.who %>}
      publish: {answers: <% task().result %>}
  output: {answers: <% $.answers %>}
"""


def _children(stack: LiveStack, task_id: str) -> list[dict]:
    return stack.get("/v2/executions", params={"task_execution_id": task_id}).json()["executions"]


def test_with_items_over_a_sub_workflow_keeps_item_order(stack: LiveStack) -> None:
    stack.create_workflow(WORKFLOW_ITEMS)
    execution = stack.start_execution("feat_squares", {"numbers": [3, 1, 4, 1, 5]})
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"squares": [9, 1, 16, 1, 25]}
    task = stack.tasks_of(execution["id"])[0]
    assert task["type"] == "WORKFLOW"
    children = _children(stack, task["id"])
    assert len(children) == 5 and {child["state"] for child in children} == {"SUCCESS"}
    assert {child["root_execution_id"] for child in children} == {execution["id"]}

    empty = stack.start_execution("feat_squares", {"numbers": []})
    assert json.loads(stack.wait_for_state(empty["id"])["output"]) == {"squares": []}


def test_with_items_over_a_sub_workflow_honours_concurrency_and_pause(stack: LiveStack) -> None:
    execution = stack.start_execution("feat_approvals")
    task_id = None
    deadline = time.monotonic() + 20
    while task_id is None or len(_children(stack, task_id)) < 2:
        assert time.monotonic() < deadline
        tasks = stack.tasks_of(execution["id"])
        task_id = tasks[0]["id"] if tasks else None
        time.sleep(0.05)

    def waiting_actions() -> dict[str, dict]:
        """The RUNNING async action of each child, by the child's `who`."""
        found = {}
        for child in _children(stack, task_id):
            for task in stack.tasks_of(child["id"]):
                for action in stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"]:
                    if action["state"] == "RUNNING":
                        found[json.loads(child["input"])["who"]] = action
        return found

    time.sleep(0.5)
    first = waiting_actions()
    assert len(_children(stack, task_id)) == 2, "concurrency 2 must hold the third item back"
    assert set(first) == {"ann", "bob"}

    # Paused, the parent does not start the third item when one ends; resumed, it does.
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "PAUSED"}).status_code == 200
    assert stack.put(f"/v2/action_executions/{first['bob']['id']}",
                     json={"state": "SUCCESS", "output": "yes"}).status_code == 200
    time.sleep(1)
    assert len(_children(stack, task_id)) == 2
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "PAUSED"
    assert stack.put(f"/v2/executions/{execution['id']}", json={"state": "RUNNING"}).status_code == 200
    deadline = time.monotonic() + 20
    while "cid" not in waiting_actions():
        assert time.monotonic() < deadline, _children(stack, task_id)
        time.sleep(0.05)
    rest = waiting_actions()
    for who, answer in (("ann", "no"), ("cid", "maybe")):
        assert stack.put(f"/v2/action_executions/{rest[who]['id']}",
                         json={"state": "SUCCESS", "output": answer}).status_code == 200
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"answers": [
        {"who": "ann", "answer": "no"}, {"who": "bob", "answer": "yes"}, {"who": "cid", "answer": "maybe"}]}

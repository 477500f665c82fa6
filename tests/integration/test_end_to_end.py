"""A workflow from upload to SUCCESS through the HTTP API, a real worker and a real Redis."""

from __future__ import annotations

import json

from tests.support.stack import LiveStack

GREETING = """
version: '2.0'
e2e_greeting:
  input:
    - name
    - greeting: Hello
  tasks:
    greet:
      action: std.echo output="<% $.greeting %>, <% $.name %>!"
      publish:
        message: <% task().result %>
      on-success: pause_a_bit
    pause_a_bit:
      action: std.noop
      publish:
        checked: true
      on-success:
        - shout
    shout:
      action: std.echo
      input:
        output: "{{ _.message | upper }}"
      publish:
        loud: "{{ task().result }}"
  output:
    message: <% $.message %>
    loud: <% $.loud %>
    checked: <% $.checked %>
"""


def test_sequential_workflow_runs_to_success_with_published_output(stack: LiveStack) -> None:
    workflow = stack.create_workflow(GREETING)
    assert workflow["name"] == "e2e_greeting"
    assert workflow["input"] == 'name, greeting="Hello"'

    execution = stack.start_execution("e2e_greeting", {"name": "World"})
    assert execution["state"] == "RUNNING"
    assert json.loads(execution["input"]) == {"name": "World", "greeting": "Hello"}

    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {
        "message": "Hello, World!", "loud": "HELLO, WORLD!", "checked": True,
    }
    tasks = stack.tasks_of(execution["id"])
    assert [t["name"] for t in tasks] == ["greet", "pause_a_bit", "shout"]
    assert all(t["state"] == "SUCCESS" for t in tasks)
    assert json.loads(tasks[0]["published"]) == {"message": "Hello, World!"}
    result = stack.get(f"/v2/tasks/{tasks[2]['id']}").json()["result"]
    assert json.loads(result) == "HELLO, WORLD!"


FAILING = """
version: '2.0'
e2e_failing:
  tasks:
    explode:
      action: std.fail error_data="boom"
      publish-on-error:
        why: <% task().result %>
      on-error:
        - recover
    recover:
      action: std.echo output=<% $.why %>
      publish:
        recovered: <% task().result %>
"""


def test_error_routed_through_on_error_is_handled(stack: LiveStack) -> None:
    stack.create_workflow(FAILING)
    execution = stack.start_execution("e2e_failing")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"why": "boom", "recovered": "boom"}
    states = {t["name"]: t["state"] for t in stack.tasks_of(execution["id"])}
    assert states == {"explode": "ERROR", "recover": "SUCCESS"}


UNHANDLED = """
version: '2.0'
e2e_unhandled:
  tasks:
    explode:
      action: std.fail
"""


def test_unhandled_error_fails_the_workflow(stack: LiveStack) -> None:
    stack.create_workflow(UNHANDLED)
    execution = stack.start_execution("e2e_unhandled")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "ERROR"
    assert "explode" in done["state_info"]
    task = stack.tasks_of(execution["id"])[0]
    assert "Fail action expected exception." in task["state_info"]

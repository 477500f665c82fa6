"""Workbooks, ad-hoc actions and environments, used by running workflows."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

ACTIONS = """
version: '2.0'
def_greet:
  base: std.echo
  base-input:
    output: "Hello, <% $.who %>"
  input:
    - who
    - punctuation: "!"
  output: <% $ + "!" %>
def_shout:
  base: def_greet who=<% $.who %>
  input: [who]
  output: <% $.toUpper() %>
"""

USES_ACTIONS = """
version: '2.0'
def_uses_actions:
  tasks:
    one:
      action: def_greet who=Ann
      publish: {one: <% task().result %>}
      on-success: [two]
    two:
      action: def_shout who=Bob
      publish: {two: <% task().result %>}
"""

WORKBOOK = """
version: '2.0'
name: def_book
actions:
  twice:
    base: std.echo output=<% $.v * 2 %>
    input: [v]
workflows:
  main:
    tasks:
      call:
        workflow: helper
        publish: {got: <% task().result.value %>}
  helper:
    tasks:
      compute:
        action: twice v=21
        publish: {value: <% task().result %>}
"""

USES_ENV = """
version: '2.0'
def_uses_env:
  tasks:
    read:
      action: std.echo output=<% env().greeting %>
      publish: {greeting: <% task().result %>}
    defaults:
      action: std.echo
      publish: {from_defaults: <% task().result %>}
"""


def test_ad_hoc_actions_transform_input_and_output(stack: LiveStack) -> None:
    created = stack.post("/v2/actions", data=ACTIONS, headers={"Content-Type": "text/plain"})
    assert created.status_code == 201, created.text
    assert {a["name"] for a in created.json()["actions"]} == {"def_greet", "def_shout"}
    assert stack.get("/v2/actions/def_greet").json()["input"] == 'who, punctuation="!"'
    stack.create_workflow(USES_ACTIONS)
    done = stack.wait_for_state(stack.start_execution("def_uses_actions")["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"one": "Hello, Ann!", "two": "HELLO, BOB!"}


def test_builtin_actions_are_listed_with_their_signature(stack: LiveStack) -> None:
    actions = {a["name"]: a for a in stack.get("/v2/actions").json()["actions"]}
    assert actions["std.echo"]["input"] == "output, delay=0"
    # Mistral shows is_system false for every action, and has no definition of a built-in one to delete.
    assert actions["std.echo"]["is_system"] is False
    assert stack.get("/v2/actions/std.noop/").json()["name"] == "std.noop"
    refused = stack.delete("/v2/actions/std.echo")
    assert refused.status_code == 404
    assert refused.json()["faultstring"] == "Action definition not found [action_name=std.echo, namespace=]"


def test_workbook_names_resolve_inside_the_workbook(stack: LiveStack) -> None:
    created = stack.post("/v2/workbooks", data=WORKBOOK, headers={"Content-Type": "text/plain"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "def_book"
    names = {w["name"] for w in stack.get("/v2/workflows").json()["workflows"]}
    assert {"def_book.main", "def_book.helper"} <= names
    done = stack.wait_for_state(stack.start_execution("def_book.main")["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"got": 42}
    assert stack.get("/v2/workbooks/def_book").json()["definition"] == WORKBOOK


def test_saved_environment_and_action_defaults(stack: LiveStack) -> None:
    env = {"name": "def_env", "description": "for tests",
           "variables": json.dumps({"greeting": "bonjour", "__actions": {"std.echo": {"output": "default"}}})}
    created = stack.post("/v2/environments", json=env)
    assert created.status_code == 201, created.text
    assert json.loads(created.json()["variables"])["greeting"] == "bonjour"
    stack.create_workflow(USES_ENV)
    execution = stack.start_execution("def_uses_env", params={"env": "def_env"})
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"]) == {"greeting": "bonjour", "from_defaults": "default"}
    inline = stack.start_execution("def_uses_env", params={"env": {"greeting": "hola"}})
    without_defaults = stack.wait_for_state(inline["id"])
    assert without_defaults["state"] == "ERROR"
    # The task that cannot start fails the workflow at once, as in Mistral; the other task's action
    # was already sent and still completes its task.
    deadline = time.monotonic() + 30
    while True:
        failed = {t["name"]: t for t in stack.tasks_of(inline["id"])}
        if failed["read"]["state"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert failed["read"]["state"] == "SUCCESS"
    assert failed["defaults"]["state_info"].startswith("Failed to run task [error=Invalid input [name=std.echo, ")
    assert "missing=['output']" in failed["defaults"]["state_info"]
    bad = stack.post("/v2/environments", json={"name": "x", "colour": "red"})
    assert bad.status_code == 400
    assert "colour" in bad.json()["faultstring"]

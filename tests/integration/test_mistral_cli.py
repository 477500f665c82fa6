"""The real ``mistral`` CLI of python-mistralclient works unchanged against the live service.

Every test runs the CLI as an integrator would (``mistral --os-mistral-url <url>/v2 ...``, no
Keystone) and checks what it prints: cliff's ``-f json`` for list and show commands, the raw text for
the ``*-get-input/-output/-result/-published/-definition`` commands.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import MistralCli, cli_path, wait_for_execution, write_file
from tests.support.stack import LiveStack

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
DURATION = re.compile(r"^\d+:\d\d:\d\d$")

HELLO = """\
version: '2.0'
cli_hello:
  description: Says hello.
  input:
    - name
    - greeting: Hello
  tasks:
    greet:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
      publish:
        message: <% task().result %>
  output:
    message: <% $.message %>
"""

HELLO_UPDATED = HELLO.replace("cli_hello:\n", "cli_hello:\n  tags: [cli, updated]\n").replace(
    "greeting: Hello", "greeting: Bonjour")

GREET = """\
version: '2.0'
cli_greet:
  input:
    - name
  tasks:
    greet:
      action: std.echo output="Hello, <% $.name %> from <% env().place %>"
      publish:
        greeting: <% task().result %>
  output:
    greeting: <% $.greeting %>
"""

WAITING = """\
version: '2.0'
cli_waiting:
  tasks:
    wait_for_human:
      action: std.async_noop
      publish:
        answer: <% task().result %>
  output:
    answer: <% $.answer %>
"""

NESTED = """\
version: '2.0'
cli_child:
  input: [x]
  tasks:
    double:
      action: std.echo output=<% $.x * 2 %>
      publish: {doubled: <% task().result %>}
  output: {doubled: <% $.doubled %>}
cli_parent:
  input: [x]
  vars: {unit: items}
  tasks:
    call:
      workflow: cli_child x=<% $.x %>
      on-success:
        publish:
          branch: {local: <% task().result.doubled %>}
          global: {shared: <% task().result.doubled %>}
  output: {doubled: <% $.local %>}
"""

INVALID = """\
version: '2.0'
cli_broken:
  tasks:
    first:
      action: std.echo output=1
      on-success: [nowhere]
"""


@pytest.fixture(scope="module")
def cli(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> MistralCli:
    return MistralCli(stack.base_url, tmp_path_factory.mktemp("mistral-cli"))


# Shared workflows are uploaded over HTTP (workflow-create has its own tests), so that a missing CLI
# fails each test instead of erroring a fixture.
@pytest.fixture(scope="module")
def greet_workflow(stack: LiveStack) -> str:
    stack.create_workflow(GREET)
    return "cli_greet"


@pytest.fixture(scope="module")
def waiting_workflow(stack: LiveStack) -> str:
    stack.create_workflow(WAITING)
    return "cli_waiting"


def _running_action(cli: MistralCli, execution_id: str) -> dict[str, Any]:
    """The RUNNING action execution of the execution's only task, through task-list and
    action-execution-list."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = cli.json("task-list", execution_id)
        if tasks:
            actions = cli.json("action-execution-list", tasks[0]["ID"])
            if actions and actions[0]["State"] == "RUNNING":
                return actions[0]
        time.sleep(0.1)
    raise AssertionError("no RUNNING action execution appeared")


def _printed_json(result_stdout: str) -> Any:
    return json.loads(result_stdout)


def _printed_documents(result_stdout: str) -> list[Any]:
    """``task-get-published`` prints ``published`` and then, when there is one, ``published_global``."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while result_stdout[index:].strip():
        while result_stdout[index].isspace():
            index += 1
        document, index = decoder.raw_decode(result_stdout, index)
        documents.append(document)
    return documents


# -- workflows ------------------------------------------------------------------------------------


def test_workflow_create_list_get_and_definition(cli: MistralCli) -> None:
    path = write_file(cli, "hello.yaml", HELLO)
    created = cli.json("workflow-create", path)
    assert len(created) == 1
    row = created[0]
    assert row["Name"] == "cli_hello"
    assert row["Namespace"] == ""
    assert row["Input"] == 'name, greeting="Hello"'
    assert row["Scope"] == "private"
    assert row["Tags"] == "<none>"
    assert TIMESTAMP.match(row["Created at"])

    listed = cli.json("workflow-list")
    mine = [item for item in listed if item["Name"] == "cli_hello"]
    assert len(mine) == 1 and mine[0]["ID"] == row["ID"]
    assert set(mine[0]) == {"ID", "Name", "Namespace", "Project ID", "Tags", "Input", "Scope",
                            "Created at", "Updated at"}

    by_name = cli.json("workflow-get", "cli_hello")
    by_id = cli.json("workflow-get", row["ID"])
    assert by_name == by_id
    assert by_name["ID"] == row["ID"] and by_name["Input"] == 'name, greeting="Hello"'

    definition = cli.ok("workflow-get-definition", "cli_hello")
    assert definition.stdout == HELLO

    table = cli.ok("workflow-get", "cli_hello")
    assert "cli_hello" in table.stdout and "| Input" in table.stdout


def test_workflow_validate_valid_and_invalid(cli: MistralCli) -> None:
    valid = cli.json("workflow-validate", write_file(cli, "valid.yaml", HELLO))
    assert valid == {"Valid": True, "Error": None}

    invalid = cli.json("workflow-validate", write_file(cli, "invalid.yaml", INVALID))
    assert invalid["Valid"] is False
    assert "nowhere" in invalid["Error"]

    not_yaml = cli.json("workflow-validate", write_file(cli, "not-yaml.yaml", "version: '2.0'\n: [\n"))
    assert not_yaml["Valid"] is False and not_yaml["Error"]


def test_workflow_create_duplicate_is_reported(cli: MistralCli) -> None:
    path = write_file(cli, "dup.yaml", HELLO.replace("cli_hello", "cli_dup"))
    cli.ok("workflow-create", path)
    again = cli.run("workflow-create", path)
    assert again.exit_code != 0
    assert "Duplicate" in again.stderr


def test_workflow_update_by_name_and_by_id(cli: MistralCli) -> None:
    text = HELLO.replace("cli_hello", "cli_upd")
    created = cli.json("workflow-create", write_file(cli, "upd.yaml", text))[0]
    assert created["Updated at"] is None

    updated = cli.json("workflow-update", write_file(cli, "upd2.yaml", HELLO_UPDATED.replace("cli_hello", "cli_upd")))
    assert len(updated) == 1
    assert updated[0]["ID"] == created["ID"]
    assert updated[0]["Tags"] == "cli, updated"
    assert updated[0]["Input"] == 'name, greeting="Bonjour"'
    assert TIMESTAMP.match(updated[0]["Updated at"])
    assert "Bonjour" in cli.ok("workflow-get-definition", "cli_upd").stdout

    by_id = cli.json("workflow-update", "--id", created["ID"], write_file(cli, "upd3.yaml", text))
    assert [row["ID"] for row in by_id] == [created["ID"]]
    assert by_id[0]["Input"] == 'name, greeting="Hello"'
    assert cli.ok("workflow-get-definition", created["ID"]).stdout == text

    renamed = cli.json("workflow-update", "--id", created["ID"],
                       write_file(cli, "upd5.yaml", text.replace("cli_upd", "cli_upd_renamed")))
    assert [(row["ID"], row["Name"]) for row in renamed] == [(created["ID"], "cli_upd_renamed")]

    missing = cli.run("workflow-update", write_file(cli, "upd4.yaml", HELLO.replace("cli_hello", "cli_nope")))
    assert missing.exit_code != 0 and "not found" in missing.stderr


def test_workflow_namespace_and_delete(cli: MistralCli) -> None:
    text = HELLO.replace("cli_hello", "cli_spaced")
    created = cli.json("workflow-create", "--namespace", "cli-ns", write_file(cli, "ns.yaml", text))[0]
    assert created["Namespace"] == "cli-ns"
    shown = cli.json("workflow-get", "cli_spaced", "--namespace", "cli-ns")
    assert shown["ID"] == created["ID"] and shown["Namespace"] == "cli-ns"
    absent = cli.run("workflow-get", "cli_spaced")
    assert absent.exit_code != 0 and "not found" in absent.stderr
    listed = cli.json("workflow-list", "--filter", "namespace=cli-ns")
    assert [row["Name"] for row in listed] == ["cli_spaced"]

    deleted = cli.ok("workflow-delete", "cli_spaced", "--namespace", "cli-ns")
    assert "Request to delete workflow cli_spaced has been accepted." in deleted.stdout
    gone = cli.run("workflow-get", "cli_spaced", "--namespace", "cli-ns")
    assert gone.exit_code != 0 and "not found" in gone.stderr

    cli.ok("workflow-create", write_file(cli, "del.yaml", HELLO.replace("cli_hello", "cli_del")))
    row_id = cli.json("workflow-get", "cli_del")["ID"]
    assert "has been accepted" in cli.ok("workflow-delete", row_id).stdout
    assert all(row["Name"] != "cli_del" for row in cli.json("workflow-list"))
    again = cli.run("workflow-delete", "cli_del")
    assert again.exit_code != 0 and "not found" in again.stdout + again.stderr


# -- executions, tasks, action executions ---------------------------------------------------------


def test_execution_create_with_input_and_params_then_read_everything(cli: MistralCli,
                                                                      greet_workflow: str) -> None:
    created = cli.json("execution-create", greet_workflow, '{"name": "World"}', '{"env": {"place": "Lyon"}}',
                       "-d", "from the CLI")
    assert created["Workflow name"] == "cli_greet"
    assert created["Description"] == "from the CLI"
    assert created["State"] in ("RUNNING", "SUCCESS")
    assert created["Task Execution ID"] == "<none>" and created["Root Execution ID"] == "<none>"
    assert TIMESTAMP.match(created["Created at"])
    execution_id = created["ID"]

    done = wait_for_execution(cli, execution_id)
    assert done["State"] == "SUCCESS", done
    assert done["Workflow ID"] == cli.json("workflow-get", "cli_greet")["ID"]
    assert done["Workflow namespace"] == ""
    assert DURATION.match(done["Duration"])

    assert _printed_json(cli.ok("execution-get-input", execution_id).stdout) == {"name": "World"}
    assert _printed_json(cli.ok("execution-get-output", execution_id).stdout) == {
        "greeting": "Hello, World from Lyon"}

    listed = cli.json("execution-list")
    mine = [row for row in listed if row["ID"] == execution_id]
    assert len(mine) == 1 and mine[0]["State"] == "SUCCESS"
    assert mine[0]["Workflow name"] == "cli_greet"
    # The suite shares one database, so other tests' executions may fill the default page.
    everything = cli.json("execution-list", "--limit", "-1")
    oldest_first = cli.json("execution-list", "--oldest", "--limit", "5")
    created_times = [row["Created at"] for row in oldest_first]
    assert len(oldest_first) == min(5, len(everything)) and created_times == sorted(created_times)
    filtered = cli.json("execution-list", "--filter", "workflow_name=cli_greet", "--filter", "state=SUCCESS")
    assert execution_id in [row["ID"] for row in filtered]
    assert {row["Workflow name"] for row in filtered} == {"cli_greet"}

    tasks = cli.json("task-list", execution_id)
    assert [(task["Name"], task["State"]) for task in tasks] == [("greet", "SUCCESS")]
    task = tasks[0]
    assert task["Workflow Execution ID"] == execution_id
    assert TIMESTAMP.match(task["Started at"]) and TIMESTAMP.match(task["Finished at"])
    assert DURATION.match(task["Duration"])
    assert task["ID"] in [row["ID"] for row in cli.json("task-list")]

    shown = cli.json("task-get", task["ID"])
    assert shown["Name"] == "greet" and shown["Workflow name"] == "cli_greet" and shown["State"] == "SUCCESS"
    assert _printed_json(cli.ok("task-get-result", task["ID"]).stdout) == "Hello, World from Lyon"
    assert _printed_json(cli.ok("task-get-published", task["ID"]).stdout) == {
        "greeting": "Hello, World from Lyon"}

    actions = cli.json("action-execution-list", task["ID"])
    assert len(actions) == 1
    action = actions[0]
    assert action["Name"] == "std.echo" and action["State"] == "SUCCESS" and action["Accepted"] is True
    # Mistral never fills an action execution's task_name: the client shows None, as there.
    assert action["Task name"] is None and action["Task ID"] == task["ID"]
    assert action["Workflow name"] == "cli_greet"
    assert action["ID"] in [row["ID"] for row in cli.json("action-execution-list")]

    detail = cli.json("action-execution-get", action["ID"])
    assert detail["State"] == "SUCCESS" and detail["State info"] is None
    assert _printed_json(cli.ok("action-execution-get-input", action["ID"]).stdout) == {
        "output": "Hello, World from Lyon"}
    assert _printed_json(cli.ok("action-execution-get-output", action["ID"]).stdout) == {
        "result": "Hello, World from Lyon"}

    deleted = cli.ok("execution-delete", execution_id)
    assert f"Request to delete execution {execution_id} has been accepted." in deleted.stdout
    gone = cli.run("execution-get", execution_id)
    assert gone.exit_code != 0 and "not found" in gone.stderr


def test_execution_create_with_defaults_and_unknown_workflow(cli: MistralCli) -> None:
    cli.ok("workflow-create", write_file(cli, "hello2.yaml", HELLO.replace("cli_hello", "cli_hello2")))
    created = cli.json("execution-create", "cli_hello2", '{"name": "Ada"}')
    done = wait_for_execution(cli, created["ID"])
    assert done["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", created["ID"]).stdout) == {"message": "Hello, Ada"}

    by_id = cli.json("execution-create", cli.json("workflow-get", "cli_hello2")["ID"], '{"name": "Bob"}')
    assert by_id["Workflow name"] == "cli_hello2"
    wait_for_execution(cli, by_id["ID"])

    unknown = cli.run("execution-create", "cli_no_such_workflow", "{}")
    assert unknown.exit_code != 0 and "not found" in unknown.stderr


def test_sub_workflows_published_and_list_options(cli: MistralCli) -> None:
    # As in Mistral without an administrator, making workflows public is forbidden.
    public = cli.run("workflow-create", "--public", write_file(cli, "nested.yaml", NESTED))
    assert public.exit_code != 0 and "Operation forbidden" in public.stderr
    created = cli.json("workflow-create", write_file(cli, "nested.yaml", NESTED))
    assert sorted((row["Name"], row["Scope"]) for row in created) == [
        ("cli_child", "private"), ("cli_parent", "private")]

    parent_id = cli.json("execution-create", "cli_parent", '{"x": 21}')["ID"]
    assert wait_for_execution(cli, parent_id)["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", parent_id).stdout) == {"doubled": 42}
    assert _printed_json(cli.ok("execution-get-published", parent_id).stdout) == {"shared": 42}
    task = cli.json("task-list", parent_id)[0]
    assert _printed_json(cli.ok("task-get-result", task["ID"]).stdout) == {"doubled": 42}
    assert _printed_documents(cli.ok("task-get-published", task["ID"]).stdout) == [{"local": 42}, {"shared": 42}]

    children = cli.json("execution-list", "--task", task["ID"])
    assert [row["Workflow name"] for row in children] == ["cli_child"]
    child = children[0]
    assert child["Task Execution ID"] == task["ID"] and child["Root Execution ID"] == parent_id
    assert cli.json("execution-get", child["ID"])["Root Execution ID"] == parent_id
    roots = [row["ID"] for row in cli.json("execution-list", "--rootsonly")]
    assert parent_id in roots and child["ID"] not in roots

    # Pagination the way the client does it: oldest first, one per page, then from a marker.
    second_id = cli.json("execution-create", "cli_parent", '{"x": 1}')["ID"]
    wait_for_execution(cli, second_id)
    first_page = cli.json("execution-list", "--filter", "workflow_name=cli_parent", "--oldest", "--limit", "1")
    assert [row["ID"] for row in first_page] == [parent_id]
    next_page = cli.json("execution-list", "--filter", "workflow_name=cli_parent", "--limit", "1",
                         "--marker", parent_id)
    assert [row["ID"] for row in next_page] == [second_id]
    newest = cli.json("execution-list", "--filter", "workflow_name=cli_parent", "--limit", "1")
    assert [row["ID"] for row in newest] == [second_id]
    by_name = cli.json("execution-list", "--filter", "workflow_name=in:cli_parent,cli_child",
                       "--sort_keys", "workflow_name", "--sort_dirs", "desc")
    names = [row["Workflow name"] for row in by_name]
    assert names == sorted(names, reverse=True) and set(names) == {"cli_parent", "cli_child"}


def test_execution_create_from_a_source_execution_and_env_update(cli: MistralCli, greet_workflow: str) -> None:
    source = cli.json("execution-create", greet_workflow, '{"name": "Eve"}', '{"env": {"place": "Oslo"}}')
    assert wait_for_execution(cli, source["ID"])["State"] == "SUCCESS"
    copy = cli.json("execution-create", "-s", source["ID"], "-d", "again")
    assert copy["ID"] != source["ID"] and copy["Workflow name"] == "cli_greet"
    assert copy["Description"] == f"again Based on the execution '{source['ID']}'"
    assert wait_for_execution(cli, copy["ID"])["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-input", copy["ID"]).stdout) == {"name": "Eve"}
    assert _printed_json(cli.ok("execution-get-output", copy["ID"]).stdout) == {
        "greeting": "Hello, Eve from Oslo"}


def test_execution_update_env_then_resume(cli: MistralCli, stack: LiveStack) -> None:
    text = WAITING.replace("cli_waiting", "cli_env_wait").replace(
        "answer: <% task().result %>", "answer: <% task().result %>\n        place: <% env().place %>").replace(
        "answer: <% $.answer %>", "answer: <% $.answer %>\n    place: <% $.place %>")
    cli.ok("workflow-create", write_file(cli, "env-wait.yaml", text))
    execution_id = cli.json("execution-create", "cli_env_wait", "{}", '{"env": {"place": "Rome"}}')["ID"]
    action = _running_action(cli, execution_id)
    assert cli.json("execution-update", execution_id, "-s", "PAUSED")["State"] == "PAUSED"
    resumed = cli.json("execution-update", execution_id, "-s", "RUNNING", "-e", '{"place": "Paris"}')
    assert resumed["State"] == "RUNNING"
    params = json.loads(stack.get(f"/v2/executions/{execution_id}").json()["params"])
    assert params["env"] == {"place": "Paris"}
    cli.ok("action-execution-update", action["ID"], "--state", "SUCCESS", "--output", '"ok"')
    assert wait_for_execution(cli, execution_id)["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", execution_id).stdout) == {
        "answer": "ok", "place": "Paris"}


def test_execution_update_pause_resume_cancel(cli: MistralCli, waiting_workflow: str) -> None:
    created = cli.json("execution-create", waiting_workflow)
    execution_id = created["ID"]
    _running_action(cli, execution_id)

    paused = cli.json("execution-update", execution_id, "-s", "PAUSED")
    assert paused["ID"] == execution_id and paused["State"] == "PAUSED"
    assert cli.json("execution-get", execution_id)["State"] == "PAUSED"

    resumed = cli.json("execution-update", execution_id, "-s", "RUNNING")
    assert resumed["State"] == "RUNNING"

    described = cli.json("execution-update", execution_id, "-d", "waiting for Bob")
    assert described["Description"] == "waiting for Bob" and described["State"] == "RUNNING"

    refused = cli.run("execution-delete", execution_id)
    assert refused.exit_code != 0 and "Only completed executions can be deleted" in refused.stdout

    cancelled = cli.json("execution-update", execution_id, "-s", "CANCELLED")
    assert cancelled["State"] == "CANCELLED"
    # As in Mistral, the task whose action is still out keeps RUNNING: its action may yet complete it.
    assert [task["State"] for task in cli.json("task-list", execution_id)] == ["RUNNING"]

    invalid = cli.run("execution-update", execution_id, "-s", "PAUSED")
    assert invalid.exit_code != 0 and "CANCELLED" in invalid.stderr

    assert "has been accepted" in cli.ok("execution-delete", execution_id).stdout


def test_execution_delete_force(cli: MistralCli, waiting_workflow: str) -> None:
    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    _running_action(cli, execution_id)
    assert "has been accepted" in cli.ok("execution-delete", "--force", execution_id).stdout
    assert execution_id not in [row["ID"] for row in cli.json("execution-list")]


def test_action_execution_update_success_output_3_as_the_seed_writes_it(cli: MistralCli,
                                                                        waiting_workflow: str) -> None:
    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    action = _running_action(cli, execution_id)
    assert action["Name"] == "std.async_noop" and action["Accepted"] is False
    waiting = cli.json("action-execution-list", "--filter", "state=RUNNING")
    assert action["ID"] in [row["ID"] for row in waiting]
    assert {row["State"] for row in waiting} == {"RUNNING"}
    assert wait_for_execution(cli, execution_id, ("RUNNING",))["State"] == "RUNNING"

    updated = cli.ok("action-execution-update", action["ID"], "--state", "SUCCESS", "--output", "3")
    assert "SUCCESS" in updated.stdout and action["ID"] in updated.stdout

    done = wait_for_execution(cli, execution_id)
    assert done["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", execution_id).stdout) == {"answer": 3}
    assert _printed_json(cli.ok("action-execution-get-output", action["ID"]).stdout) == {"result": 3}
    task_id = cli.json("task-list", execution_id)[0]["ID"]
    assert _printed_json(cli.ok("task-get-result", task_id).stdout) == 3
    assert _printed_json(cli.ok("task-get-published", task_id).stdout) == {"answer": 3}
    accepted = cli.json("action-execution-get", action["ID"])
    assert accepted["State"] == "SUCCESS" and accepted["Accepted"] is True

    late = cli.run("action-execution-update", action["ID"], "--state", "SUCCESS", "--output", "4")
    assert late.exit_code != 0 and "already completed" in late.stderr


def test_action_execution_update_with_an_object_output(cli: MistralCli, waiting_workflow: str) -> None:
    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    action = _running_action(cli, execution_id)
    updated = cli.json("action-execution-update", action["ID"], "--state", "SUCCESS", "--output", '{"a": 1}')
    assert updated["ID"] == action["ID"] and updated["State"] == "SUCCESS"
    assert wait_for_execution(cli, execution_id)["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", execution_id).stdout) == {"answer": {"a": 1}}


def test_action_execution_update_error_fails_the_workflow(cli: MistralCli, waiting_workflow: str) -> None:
    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    action = _running_action(cli, execution_id)
    updated = cli.json("action-execution-update", action["ID"], "--state", "ERROR")
    assert updated["State"] == "ERROR"
    done = wait_for_execution(cli, execution_id)
    assert done["State"] == "ERROR"
    task = cli.json("task-get", cli.json("task-list", execution_id)[0]["ID"])
    assert task["State"] == "ERROR" and task["State info"] == "Unknown error"

    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    action = _running_action(cli, execution_id)
    cli.ok("action-execution-update", action["ID"], "--state", "ERROR", "--output", '"rejected by Bob"')
    assert wait_for_execution(cli, execution_id)["State"] == "ERROR"
    task = cli.json("task-get", cli.json("task-list", execution_id)[0]["ID"])
    assert task["State info"] == "rejected by Bob"


def test_action_execution_pause_and_resume(cli: MistralCli, waiting_workflow: str) -> None:
    execution_id = cli.json("execution-create", waiting_workflow)["ID"]
    action = _running_action(cli, execution_id)
    paused = cli.json("action-execution-update", action["ID"], "--state", "PAUSED")
    assert paused["State"] == "PAUSED"
    assert cli.json("execution-get", execution_id)["State"] == "PAUSED"
    resumed = cli.json("action-execution-update", action["ID"], "--state", "RUNNING")
    assert resumed["State"] == "RUNNING"
    assert cli.json("execution-get", execution_id)["State"] == "RUNNING"
    cli.ok("action-execution-update", action["ID"], "--state", "SUCCESS", "--output", '"done"')
    assert wait_for_execution(cli, execution_id)["State"] == "SUCCESS"
    assert _printed_json(cli.ok("execution-get-output", execution_id).stdout) == {"answer": "done"}


def test_unknown_ids_are_reported_by_the_cli(cli: MistralCli) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for command in ("execution-get", "task-get", "action-execution-get"):
        result = cli.run(command, missing)
        assert result.exit_code != 0, result.describe()
        assert "not found" in result.stderr, result.describe()


def test_a_missing_cli_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MISTRAL_CLI", str(tmp_path / "no-such-mistral"))
    with pytest.raises(pytest.fail.Exception, match="mistral CLI was not found .*test.sh"):
        cli_path()

"""The real ``mistral`` CLI on workbooks, ad-hoc actions, environments and task reruns.

Like test_mistral_cli.py, each test runs the CLI as an integrator would and checks what it prints.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.cli import MistralCli, wait_for_execution, write_file
from tests.support.stack import LiveStack

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

WORKBOOK = """\
version: '2.0'
name: cli_book
tags: [billing]
actions:
  shout:
    base: std.echo
    base-input:
      output: <% $.word %>!
    input: [word]
workflows:
  main:
    input: [word]
    tasks:
      call:
        action: shout word=<% $.word %>
        publish: {said: <% task().result %>}
    output: {said: <% $.said %>}
"""

ACTIONS = """\
version: '2.0'
cli_greeting:
  description: Greets somebody.
  tags: [people]
  base: std.echo
  base-input:
    output: Hello, <% $.name %>
  input:
    - name
    - punctuation: "."
cli_farewell:
  base: std.echo
  base-input:
    output: Goodbye, <% $.name %>
  input: [name]
"""

USES_GREETING = """\
version: '2.0'
cli_uses_greeting:
  tasks:
    greet:
      action: cli_greeting name=<% env().who %>
      publish: {said: <% task().result %>}
  output: {said: <% $.said %>}
"""

FLAKY = """\
version: '2.0'
cli_flaky:
  tasks:
    check:
      action: std.echo output=<% env().verdict %>
      fail-on: <% task().result != 'ok' %>
      publish: {verdict: <% task().result %>}
  output: {verdict: <% $.verdict %>}
"""


@pytest.fixture(scope="module")
def cli(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> MistralCli:
    return MistralCli(stack.base_url, tmp_path_factory.mktemp("mistral-cli-catalog"))


# -- workbooks ------------------------------------------------------------------------------------


def test_workbook_create_list_get_definition_and_run(cli: MistralCli) -> None:
    path = write_file(cli, "book.yaml", WORKBOOK)
    assert cli.json("workbook-validate", path) == {"Valid": True, "Error": None}

    created = cli.json("workbook-create", path)
    assert created["Name"] == "cli_book"
    assert created["Namespace"] == ""
    assert created["Tags"] == "billing"
    assert created["Scope"] == "private"
    assert TIMESTAMP.match(created["Created at"])

    listed = [row for row in cli.json("workbook-list") if row["Name"] == "cli_book"]
    assert len(listed) == 1 and listed[0]["Tags"] == "billing"
    assert cli.json("workbook-get", "cli_book")["Created at"] == created["Created at"]
    assert cli.ok("workbook-get-definition", "cli_book").stdout == WORKBOOK

    # The workbook's workflow and action are published under the workbook's name.
    assert cli.json("workflow-get", "cli_book.main")["Input"] == "word"
    assert cli.json("action-get", "cli_book.shout")["Input"] == "word"
    execution = cli.json("execution-create", "cli_book.main", '{"word": "hey"}')
    done = wait_for_execution(cli, execution["ID"])
    assert done["State"] == "SUCCESS", done
    assert json.loads(cli.ok("execution-get-output", execution["ID"]).stdout) == {"said": "hey!"}


def test_workbook_update_and_delete(cli: MistralCli) -> None:
    text = WORKBOOK.replace("cli_book", "cli_book2")
    cli.ok("workbook-create", write_file(cli, "book2.yaml", text))
    updated = cli.json("workbook-update", write_file(cli, "book2b.yaml", text.replace("[billing]", "[billing, v2]")))
    assert updated["Tags"] == "billing, v2"
    assert TIMESTAMP.match(updated["Updated at"])
    assert "v2" in cli.ok("workbook-get-definition", "cli_book2").stdout

    deleted = cli.ok("workbook-delete", "cli_book2")
    assert "Request to delete workbook cli_book2 has been accepted." in deleted.stdout
    gone = cli.run("workbook-get", "cli_book2")
    assert gone.exit_code != 0 and "not found" in gone.stderr
    # As in Mistral, its workflows and actions stay (DECISIONS.md); they are deleted one by one.
    assert cli.ok("workflow-delete", "cli_book2.main")
    assert cli.ok("action-delete", "cli_book2.shout")


def test_workbook_validate_and_create_report_the_problem(cli: MistralCli) -> None:
    broken = WORKBOOK.replace("cli_book", "cli_book_bad").replace("publish:", "publsh:")
    path = write_file(cli, "bad-book.yaml", broken)
    invalid = cli.json("workbook-validate", path)
    assert invalid["Valid"] is False and "publsh" in invalid["Error"]
    refused = cli.run("workbook-create", path)
    assert refused.exit_code != 0 and "publsh" in refused.stderr
    assert all(row["Name"] != "cli_book_bad" for row in cli.json("workbook-list"))


# -- actions --------------------------------------------------------------------------------------


def test_action_create_list_get_definition_and_use(cli: MistralCli, stack: LiveStack) -> None:
    path = write_file(cli, "actions.yaml", ACTIONS)
    assert cli.json("action-validate", path) == {"Valid": True, "Error": None}

    created = cli.json("action-create", path)
    assert sorted(row["Name"] for row in created) == ["cli_farewell", "cli_greeting"]
    greeting = next(row for row in created if row["Name"] == "cli_greeting")
    assert greeting["Is system"] is False
    assert greeting["Input"] == 'name, punctuation="."'
    assert greeting["Description"] == "Greets somebody."
    assert greeting["Tags"] == "people"

    shown = cli.json("action-get", "cli_greeting")
    assert shown["ID"] == greeting["ID"] and shown["Input"] == 'name, punctuation="."'
    assert "base: std.echo" in cli.ok("action-get-definition", "cli_greeting").stdout

    listed = {row["Name"]: row for row in cli.json("action-list")}
    assert listed["cli_greeting"]["Is system"] is False
    assert listed["std.echo"]["Is system"] is False  # as Mistral shows every action
    assert listed["std.echo"]["Input"] == "output, delay=0"

    stack.create_workflow(USES_GREETING)
    execution = cli.json("execution-create", "cli_uses_greeting", "{}", '{"env": {"who": "Ada"}}')
    assert wait_for_execution(cli, execution["ID"])["State"] == "SUCCESS"
    assert json.loads(cli.ok("execution-get-output", execution["ID"]).stdout) == {"said": "Hello, Ada"}

    ran = cli.ok("run-action", "cli_farewell", '{"name": "Bob"}')
    assert json.loads(ran.stdout) == {"result": "Goodbye, Bob"}


def test_action_update_and_delete(cli: MistralCli) -> None:
    text = ACTIONS.replace("cli_greeting", "cli_hi").replace("cli_farewell", "cli_bye")
    cli.ok("action-create", write_file(cli, "actions2.yaml", text))
    updated = cli.json("action-update", write_file(cli, "actions2b.yaml", text.replace("Greets somebody.", "Says hi.")))
    by_name = {row["Name"]: row for row in updated}
    assert by_name["cli_hi"]["Description"] == "Says hi."
    assert TIMESTAMP.match(by_name["cli_hi"]["Updated at"])

    deleted = cli.ok("action-delete", "cli_hi", "cli_bye")
    assert "Request to delete action cli_hi has been accepted." in deleted.stdout
    assert "Request to delete action cli_bye has been accepted." in deleted.stdout
    gone = cli.run("action-get", "cli_hi")
    assert gone.exit_code != 0 and "not found" in gone.stderr

    system = cli.run("action-delete", "std.echo")
    assert "std.echo" in system.stdout + system.stderr
    assert cli.json("action-get", "std.echo")["Is system"] is False


def test_action_validate_reports_problems_and_an_unknown_base_fails_when_run(cli: MistralCli) -> None:
    no_base = "version: '2.0'\ncli_baseless:\n  input: [x]\n"
    invalid = cli.json("action-validate", write_file(cli, "baseless.yaml", no_base))
    assert invalid["Valid"] is False and "base" in invalid["Error"]
    assert cli.run("action-create", write_file(cli, "baseless2.yaml", no_base)).exit_code != 0

    # The base may be uploaded later, so an unknown one is only an error when the action runs.
    unknown = "version: '2.0'\ncli_dangling:\n  base: cli_not_yet_there\n"
    cli.ok("action-create", write_file(cli, "dangling.yaml", unknown))
    ran = cli.run("run-action", "cli_dangling")
    assert "cli_not_yet_there" in ran.stdout + ran.stderr


# -- environments ---------------------------------------------------------------------------------


def test_environment_create_get_export_and_use_in_a_workflow(cli: MistralCli, stack: LiveStack) -> None:
    definition = {"name": "cli_env", "description": "Production settings",
                  "variables": {"verdict": "ok", "region": {"name": "eu-west", "zones": 3}}}
    path = write_file(cli, "env.json", json.dumps(definition))
    created = cli.json("environment-create", path)
    assert created["Name"] == "cli_env"
    assert created["Description"] == "Production settings"
    assert json.loads(created["Variables"]) == definition["variables"]
    assert created["Scope"] == "private"
    assert TIMESTAMP.match(created["Created at"])

    shown = cli.json("environment-get", "cli_env")
    assert json.loads(shown["Variables"]) == definition["variables"]
    exported = cli.json("environment-get", "cli_env", "--export")
    assert exported == {"name": "cli_env", "description": "Production settings", "scope": "private",
                        "variables": json.dumps(definition["variables"])}

    listed = [row for row in cli.json("environment-list") if row["Name"] == "cli_env"]
    assert len(listed) == 1 and "Variables" not in listed[0]

    stack.create_workflow(FLAKY)
    execution = cli.json("execution-create", "cli_flaky", "{}", '{"env": "cli_env"}')
    assert wait_for_execution(cli, execution["ID"])["State"] == "SUCCESS"
    assert json.loads(cli.ok("execution-get-output", execution["ID"]).stdout) == {"verdict": "ok"}


def test_environment_update_from_yaml_and_delete(cli: MistralCli) -> None:
    cli.ok("environment-create", write_file(cli, "env2.yaml", "name: cli_env2\nvariables:\n  colour: blue\n"))
    changed = "name: cli_env2\ndescription: now green\nvariables:\n  colour: green\n"
    updated = cli.json("environment-update", write_file(cli, "env2b.yaml", changed))
    assert json.loads(updated["Variables"]) == {"colour": "green"}
    assert updated["Description"] == "now green"
    assert TIMESTAMP.match(updated["Updated at"])

    deleted = cli.ok("environment-delete", "cli_env2")
    assert "Request to delete environment cli_env2 has been accepted." in deleted.stdout
    gone = cli.run("environment-get", "cli_env2")
    assert gone.exit_code != 0 and "not found" in gone.stderr


# -- task rerun -----------------------------------------------------------------------------------


def test_task_rerun_with_a_new_env_recovers_the_execution(cli: MistralCli, stack: LiveStack) -> None:
    stack.create_workflow(FLAKY.replace("cli_flaky", "cli_flaky_rerun"))
    execution = cli.json("execution-create", "cli_flaky_rerun", "{}", '{"env": {"verdict": "bad"}}')
    assert wait_for_execution(cli, execution["ID"])["State"] == "ERROR"
    task = cli.json("task-list", execution["ID"])[0]
    assert task["Name"] == "check" and task["State"] == "ERROR"

    rerun = cli.json("task-rerun", task["ID"], "-e", '{"verdict": "ok"}')
    assert rerun["ID"] == task["ID"]
    assert rerun["State"] in ("RUNNING", "SUCCESS")
    done = wait_for_execution(cli, execution["ID"])
    assert done["State"] == "SUCCESS", done
    assert json.loads(cli.ok("task-get-result", task["ID"]).stdout) == "ok"
    assert json.loads(cli.ok("execution-get-output", execution["ID"]).stdout) == {"verdict": "ok"}

    again = cli.run("task-rerun", task["ID"])
    assert again.exit_code != 0 and "must be in ERROR" in again.stderr


def test_task_rerun_with_resume_reruns_only_the_failed_items(cli: MistralCli, stack: LiveStack) -> None:
    stack.create_workflow("""\
version: '2.0'
cli_items_rerun:
  tasks:
    each:
      with-items: i in [0, 1, 2]
      action: <% env().plan[$.i] %>
  output: {done: true}
""")
    execution = cli.json("execution-create", "cli_items_rerun", "{}",
                         '{"env": {"plan": ["std.noop", "std.fail", "std.noop"]}}')
    assert wait_for_execution(cli, execution["ID"])["State"] == "ERROR"
    task = cli.json("task-list", execution["ID"])[0]
    first = cli.json("action-execution-list", task["ID"])
    assert sorted(row["State"] for row in first) == ["ERROR", "SUCCESS", "SUCCESS"]

    # With the new plan, rerunning every item would fail items 0 and 2; --resume reruns item 1 only.
    cli.json("task-rerun", task["ID"], "--resume", "-e", '{"plan": ["std.fail", "std.noop", "std.fail"]}')
    done = wait_for_execution(cli, execution["ID"])
    assert done["State"] == "SUCCESS", done
    actions = cli.json("action-execution-list", task["ID"])
    assert len(actions) == 4
    assert {row["ID"] for row in first} < {row["ID"] for row in actions}

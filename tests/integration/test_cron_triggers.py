"""Cron triggers through the API and the real ``mistral`` CLI, fired by the live scheduler.

Patterns with a sixth (last) field for seconds, and first execution times with seconds, keep every
test away from minute boundaries.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.cli import MistralCli
from tests.support.stack import LiveStack

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
FAR_PATTERN = "0 0 1 1 *"  # once a year: never fires during a test

HELLO = """\
version: '2.0'
cron_hello:
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


@pytest.fixture(scope="module")
def workflow(stack: LiveStack) -> dict[str, Any]:
    return stack.create_workflow(HELLO)


@pytest.fixture()
def triggers(stack: LiveStack) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create triggers over HTTP; whatever a test leaves behind is deleted after it."""
    names: list[str] = []

    def create(**body: Any) -> dict[str, Any]:
        response = stack.post("/v2/cron_triggers", json=body)
        assert response.status_code == 201, response.text
        names.append(body["name"])
        return response.json()

    yield create
    for name in names:
        stack.delete(f"/v2/cron_triggers/{name}")


def _utc_in(seconds: float, time_format: str = "%Y-%m-%d %H:%M:%S") -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime(time_format)


def _executions_of(stack: LiveStack, trigger_id: str) -> list[dict[str, Any]]:
    response = stack.get("/v2/executions", params={"description": f"has:{trigger_id}"})
    assert response.status_code == 200, response.text
    return response.json()["executions"]


def _wait_until_gone(stack: LiveStack, name: str, timeout: float = 30,
                     on_poll: Callable[[dict[str, Any]], None] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = stack.get(f"/v2/cron_triggers/{name}")
        if response.status_code == 404:
            return
        if on_poll is not None:
            on_poll(response.json())
        time.sleep(0.1)
    raise AssertionError(f"trigger {name} still exists after {timeout}s\n{stack.log_tails()}")


def _settled(stack: LiveStack, executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [stack.wait_for_state(execution["id"]) for execution in executions]


# -- API ------------------------------------------------------------------------------------------


def test_create_get_list_and_delete(stack: LiveStack, workflow: dict[str, Any],
                                    triggers: Callable[..., dict[str, Any]]) -> None:
    created = triggers(name="cron_api_basic", workflow_name="cron_hello", pattern=FAR_PATTERN,
                       remaining_executions=3, workflow_input=json.dumps({"name": "Ada"}),
                       workflow_params={"env": {"k": "v"}})
    assert created["name"] == "cron_api_basic"
    assert created["workflow_name"] == "cron_hello" and created["workflow_id"] == workflow["id"]
    assert json.loads(created["workflow_input"]) == {"name": "Ada"}
    assert json.loads(created["workflow_params"]) == {"env": {"k": "v"}}
    assert created["pattern"] == FAR_PATTERN and created["remaining_executions"] == 3
    assert created["first_execution_time"] is None and created["scope"] == "private"
    assert created["next_execution_time"].endswith("-01-01 00:00:00")
    # As in Mistral, a creation's answer has no updated_at yet.
    assert TIMESTAMP.match(created["created_at"]) and "updated_at" not in created

    by_name = stack.get("/v2/cron_triggers/cron_api_basic").json()
    by_id = stack.get(f"/v2/cron_triggers/{created['id']}").json()
    assert by_name == by_id == {**created, "updated_at": None}

    listed = stack.get("/v2/cron_triggers", params={"fields": "name,pattern,next_execution_time"}).json()
    mine = [item for item in listed["cron_triggers"] if item["name"] == "cron_api_basic"]
    assert mine == [{"id": created["id"], "name": "cron_api_basic", "pattern": FAR_PATTERN,
                     "next_execution_time": created["next_execution_time"]}]
    filtered = stack.get("/v2/cron_triggers", params={"workflow_name": "nope"}).json()
    assert filtered["cron_triggers"] == []

    assert stack.delete("/v2/cron_triggers/cron_api_basic").status_code == 204
    missing = stack.get("/v2/cron_triggers/cron_api_basic")
    assert missing.status_code == 404
    assert "Cron trigger not found" in missing.json()["faultstring"]
    assert stack.delete("/v2/cron_triggers/cron_api_basic").status_code == 404


def test_a_scheduled_workflow_cannot_be_deleted_but_its_workbook_can(
        stack: LiveStack, triggers: Callable[..., dict[str, Any]]) -> None:
    stack.create_workflow(HELLO.replace("cron_hello", "cron_kept"))
    book = stack.post("/v2/workbooks", data=(
        "version: '2.0'\nname: cron_book\nworkflows:\n  noop:\n    tasks:\n      t: {action: std.noop}\n"),
        headers={"Content-Type": "text/plain"})
    assert book.status_code == 201, book.text
    kept = triggers(name="cron_keeps_workflow", workflow_name="cron_kept", pattern=FAR_PATTERN,
                    workflow_input={"name": "x"})
    triggers(name="cron_keeps_book", workflow_name="cron_book.noop", pattern=FAR_PATTERN)

    refused = stack.delete("/v2/workflows/cron_kept")
    assert refused.status_code == 400
    assert refused.json()["faultstring"] == (
        "Can't delete workflow that has cron triggers associated. [workflow_identifier=cron_kept, namespace=], "
        f"[cron_trigger_id(s)={kept['id']}]")
    assert stack.get("/v2/workflows/cron_kept").status_code == 200
    # As in Mistral, a workbook goes alone: its workflows (and so their triggers) stay.
    assert stack.delete("/v2/workbooks/cron_book").status_code == 204
    assert stack.get("/v2/workflows/cron_book.noop").status_code == 200

    assert stack.delete("/v2/cron_triggers/cron_keeps_workflow").status_code == 204
    assert stack.delete("/v2/cron_triggers/cron_keeps_book").status_code == 204
    assert stack.delete("/v2/workflows/cron_kept").status_code == 204
    assert stack.delete("/v2/workflows/cron_book.noop").status_code == 204


def test_workflow_by_id_and_first_time_in_minutes(stack: LiveStack, workflow: dict[str, Any],
                                                  triggers: Callable[..., dict[str, Any]]) -> None:
    first = _utc_in(86400, "%Y-%m-%d %H:%M")
    created = triggers(name="cron_api_by_id", workflow_id=workflow["id"], first_execution_time=first,
                       workflow_input={"name": "Bob"})
    assert created["workflow_name"] == "cron_hello"
    # Mistral's rule: a first time without a pattern means one execution.
    # Mistral shows a first-time-only trigger with a pattern that never matches (30 February).
    assert created["remaining_executions"] == 1 and created["pattern"] == "0 0 30 2 0"
    assert created["first_execution_time"] == created["next_execution_time"] == f"{first}:00"


def test_duplicate_name_is_409(stack: LiveStack, workflow: dict[str, Any],
                               triggers: Callable[..., dict[str, Any]]) -> None:
    body = {"name": "cron_api_twice", "workflow_name": "cron_hello", "pattern": FAR_PATTERN,
            "workflow_input": {"name": "x"}}
    triggers(**body)
    again = stack.post("/v2/cron_triggers", json=body)
    assert again.status_code == 409
    assert "Duplicate entry for cron trigger" in again.json()["faultstring"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"workflow_name": "cron_hello", "pattern": FAR_PATTERN}, 400, "name"),
    ({"name": "c"}, 400, "Workflow ID or workflow name must be provided"),
    ({"name": "c", "workflow_name": "cron_missing", "pattern": FAR_PATTERN}, 404, "Workflow not found"),
    ({"name": "c", "workflow_name": "cron_hello", "workflow_input": {"name": "x"}}, 400,
     "Pattern or first_execution_time must be specified"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": "61 * * * *", "workflow_input": {"name": "x"}},
     400, "The specified pattern is not valid"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": "* * * * * * 2099",
      "workflow_input": {"name": "x"}}, 400, "The specified pattern is not valid"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": "0 0 30 2 *", "workflow_input": {"name": "x"}},
     400, "The specified pattern is not valid"),
    ({"name": "c", "workflow_name": "cron_hello", "first_execution_time": "tomorrow",
      "workflow_input": {"name": "x"}}, 400, "first_execution_time must look like"),
    ({"name": "c", "workflow_name": "cron_hello", "first_execution_time": "2001-01-01 00:00",
      "workflow_input": {"name": "x"}}, 400, "first_execution_time must be at least 1 minute in the future"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": FAR_PATTERN, "remaining_executions": 0,
      "workflow_input": {"name": "x"}}, 400, "Value should be greater or equal to 1"),
    ({"name": "c", "workflow_name": "cron_hello", "first_execution_time": "2999-01-01 00:00",
      "remaining_executions": 2, "workflow_input": {"name": "x"}}, 400, "Pattern must be provided"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": FAR_PATTERN}, 400, "missing=['name']"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": FAR_PATTERN,
      "workflow_input": {"name": "x", "extra": 1}}, 400, "unexpected=['extra']"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": FAR_PATTERN, "workflow_input": "[1, 2]"},
     400, "JsonType field value must be a dictionary"),
    ({"name": "c", "workflow_name": "cron_hello", "pattern": FAR_PATTERN, "scope": "everyone",
      "workflow_input": {"name": "x"}}, 400, "scope"),
])
def test_invalid_triggers_are_refused(stack: LiveStack, workflow: dict[str, Any], body: dict[str, Any],
                                      status: int, message: str) -> None:
    response = stack.post("/v2/cron_triggers", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["faultstring"]
    assert stack.get("/v2/cron_triggers/c").status_code == 404


def test_seconds_pattern_fires_counts_down_and_disappears(stack: LiveStack, workflow: dict[str, Any],
                                                          triggers: Callable[..., dict[str, Any]]) -> None:
    created = triggers(name="cron_every_2s", workflow_name="cron_hello", pattern="* * * * * */2",
                       remaining_executions=3, workflow_input={"name": "Cron"})
    assert created["remaining_executions"] == 3
    seen: list[int] = [3]

    def note(trigger: dict[str, Any]) -> None:
        if trigger["remaining_executions"] != seen[-1]:
            seen.append(trigger["remaining_executions"])

    _wait_until_gone(stack, "cron_every_2s", on_poll=note)
    assert seen == sorted(seen, reverse=True) and set(seen) <= {3, 2, 1} and seen[-1] in (1, 2)
    # A deleted trigger starts nothing more: passes of the scheduler after its next time add nothing.
    stack.wait_for_scheduler_pass(time.time() + 2)
    executions = _settled(stack, _executions_of(stack, created["id"]))
    assert len(executions) == 3
    for execution in executions:
        assert execution["state"] == "SUCCESS"
        assert json.loads(execution["output"]) == {"message": "Hello, Cron"}
        description = json.loads(execution["description"])
        assert description["triggered_by"] == {"type": "cron_trigger", "id": created["id"],
                                               "name": "cron_every_2s"}
    started = sorted(datetime.strptime(e["created_at"], "%Y-%m-%d %H:%M:%S") for e in executions)
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in zip(started, started[1:]))


def test_first_execution_time_alone_fires_once(stack: LiveStack, workflow: dict[str, Any],
                                               triggers: Callable[..., dict[str, Any]]) -> None:
    created = triggers(name="cron_once", workflow_name="cron_hello", first_execution_time=_utc_in(2),
                       workflow_input={"name": "Once"}, workflow_params={"env": {"who": "cron"}})
    assert created["remaining_executions"] == 1
    _wait_until_gone(stack, "cron_once")
    stack.wait_for_scheduler_pass(time.time())
    executions = _settled(stack, _executions_of(stack, created["id"]))
    assert len(executions) == 1
    assert executions[0]["state"] == "SUCCESS"
    assert json.loads(executions[0]["input"]) == {"name": "Once", "greeting": "Hello"}
    assert json.loads(executions[0]["params"])["env"] == {"who": "cron"}


# -- the real CLI ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> MistralCli:
    return MistralCli(stack.base_url, tmp_path_factory.mktemp("cron-cli"))


def test_cli_create_list_get_delete(stack: LiveStack, workflow: dict[str, Any], cli: MistralCli) -> None:
    try:
        created = cli.json("cron-trigger-create", "cron_cli_yearly", "cron_hello", '{"name": "CLI"}',
                           "--params", '{"env": {"a": 1}}', "--pattern", FAR_PATTERN, "--count", "4")
        assert created["Name"] == "cron_cli_yearly" and created["Workflow"] == "cron_hello"
        assert json.loads(created["Params"]) == {"env": {"a": 1}}
        assert created["Pattern"] == FAR_PATTERN and created["Remaining executions"] == 4
        assert created["Next execution time"].endswith("-01-01 00:00:00")
        assert TIMESTAMP.match(created["Created at"])

        first = _utc_in(86400, "%Y-%m-%d %H:%M")
        once = cli.json("cron-trigger-create", "cron_cli_once", workflow["id"], '{"name": "CLI"}',
                        "--first-time", first, "--utc")
        assert once["Workflow"] == "cron_hello" and once["Remaining executions"] == 1
        assert once["Next execution time"] == f"{first}:00" and once["Pattern"] == "0 0 30 2 0"

        listed = {row["Name"]: row for row in cli.json("cron-trigger-list")}
        assert {"cron_cli_yearly", "cron_cli_once"} <= set(listed)
        assert listed["cron_cli_yearly"]["Pattern"] == FAR_PATTERN
        assert set(listed["cron_cli_yearly"]) == {"Name", "Workflow", "Params", "Pattern", "Next execution time",
                                                  "Remaining executions", "Created at", "Updated at"}

        shown = cli.json("cron-trigger-get", "cron_cli_yearly")
        assert shown == created
        table = cli.ok("cron-trigger-get", "cron_cli_once")
        assert "cron_cli_once" in table.stdout and "| Remaining executions | 1" in table.stdout

        deleted = cli.ok("cron-trigger-delete", "cron_cli_yearly", "cron_cli_once")
        for name in ("cron_cli_yearly", "cron_cli_once"):
            assert f"Request to delete cron trigger {name} has been accepted." in deleted.stdout
        assert not {"cron_cli_yearly", "cron_cli_once"} & {row["Name"] for row in cli.json("cron-trigger-list")}
        missing = cli.run("cron-trigger-get", "cron_cli_yearly")
        assert missing.exit_code != 0 and "Cron trigger not found" in missing.stderr
    finally:
        for name in ("cron_cli_yearly", "cron_cli_once"):
            stack.delete(f"/v2/cron_triggers/{name}")


def test_cli_trigger_fires(stack: LiveStack, workflow: dict[str, Any], cli: MistralCli) -> None:
    try:
        created = cli.json("cron-trigger-create", "cron_cli_fast", "cron_hello", '{"name": "Tick"}',
                           "--pattern", "* * * * * *", "--count", "2")
        assert created["Remaining executions"] == 2
        _wait_until_gone(stack, "cron_cli_fast")
        assert "cron_cli_fast" not in {row["Name"] for row in cli.json("cron-trigger-list")}
        listed = cli.json("execution-list", "--filter", "workflow_name=cron_hello", "--limit", "1000")
        mine = [row for row in listed if "cron_cli_fast" in (row["Description"] or "")]
        assert len(mine) == 2
        for row in mine:
            shown = stack.wait_for_state(row["ID"])
            assert shown["state"] == "SUCCESS"
            output = cli.ok("execution-get-output", row["ID"])
            assert json.loads(output.stdout) == {"message": "Hello, Tick"}
    finally:
        stack.delete("/v2/cron_triggers/cron_cli_fast")

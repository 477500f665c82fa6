"""``POST /v2/action_executions`` and ``mistral run-action``: actions outside any workflow."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.cli import MistralCli
from tests.support.stack import LiveStack


@pytest.fixture(scope="module")
def cli(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> MistralCli:
    return MistralCli(stack.base_url, tmp_path_factory.mktemp("run-action-cli"))


def test_sync_action_answers_with_its_output_and_is_not_kept(stack: LiveStack) -> None:
    response = stack.post("/v2/action_executions",
                          json={"name": "std.echo", "input": json.dumps({"output": "hi"})})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "SUCCESS"
    assert json.loads(body["output"]) == {"result": "hi"}
    assert stack.get(f"/v2/action_executions/{body['id']}").status_code == 404


def test_saved_result_is_kept(stack: LiveStack) -> None:
    response = stack.post("/v2/action_executions", json={
        "name": "std.echo", "input": {"output": 5}, "params": {"save_result": True, "run_sync": True}})
    assert response.status_code == 201
    saved = stack.get(f"/v2/action_executions/{response.json()['id']}").json()
    assert json.loads(saved["output"]) == {"result": 5}


def test_async_action_is_returned_running_and_completed_later(stack: LiveStack) -> None:
    response = stack.post("/v2/action_executions", json={"name": "std.async_noop"})
    assert response.status_code == 201
    action = response.json()
    assert action["state"] == "RUNNING"
    done = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": "ok"})
    assert done.status_code == 200 and done.json()["state"] == "SUCCESS"
    # As with Mistral's default settings, no action execution is deleted.
    refused = stack.delete(f"/v2/action_executions/{action['id']}")
    assert refused.status_code == 403 and refused.json()["faultstring"] == "Action execution deletion is not allowed."


def test_bad_requests(stack: LiveStack) -> None:
    sync_async = stack.post("/v2/action_executions", json={"name": "std.async_noop", "params": {"run_sync": True}})
    assert sync_async.status_code == 400
    assert sync_async.json()["faultstring"] == "Action does not support synchronous execution."
    unknown = stack.post("/v2/action_executions", json={"name": "std.nothing"})
    assert unknown.status_code == 400 and "std.nothing" in unknown.json()["faultstring"]
    bad_input = stack.post("/v2/action_executions", json={"name": "std.echo", "input": {"nope": 1}})
    assert bad_input.status_code == 400 and "missing=['output']" in bad_input.json()["faultstring"]
    missing = stack.post("/v2/action_executions", json={"input": {}})
    assert missing.status_code == 400 and "name" in missing.json()["faultstring"]


def test_sync_wait_is_bounded(stack: LiveStack) -> None:
    response = stack.post("/v2/action_executions", json={
        "name": "std.sleep", "input": {"seconds": 3}, "params": {"timeout": 0.5}})
    assert response.status_code == 504
    assert "did not complete within 0.5 seconds" in response.json()["faultstring"]


def test_cli_run_action(cli: MistralCli, tmp_path: Path) -> None:
    result = cli.ok("run-action", "std.echo", '{"output": "from the cli"}')
    assert json.loads(result.stdout)["result"] == "from the cli"
    saved = cli.ok("run-action", "std.async_noop", "--save-result")
    assert "RUNNING" in saved.stdout, saved.describe()
    assert "std.async_noop" in saved.stdout


def test_cli_action_execution_delete(cli: MistralCli) -> None:
    saved = cli.json("run-action", "std.echo", '{"output": "keep me"}', "--save-result")
    assert saved["Name"] == "std.echo" and saved["State"] in ("RUNNING", "SUCCESS")
    deadline = time.monotonic() + 30
    while cli.json("action-execution-get", saved["ID"])["State"] != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert json.loads(cli.ok("action-execution-get-output", saved["ID"]).stdout) == {"result": "keep me"}
    # Mistral's default (allow_action_execution_deletion off): the client reports the refusal.
    refused = cli.run("action-execution-delete", saved["ID"])
    assert refused.exit_code != 0
    assert "Action execution deletion is not allowed." in refused.stdout + refused.stderr
    assert cli.json("action-execution-get", saved["ID"])["State"] == "SUCCESS"

"""Execution reports and sub-executions, over HTTP and through the real ``mistral`` CLI.

One finished tree serves most tests: a parent whose first task succeeds and then calls the same child
workflow twice, once succeeding and once failing in its second task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.cli import MistralCli
from tests.support.stack import LiveStack

TREE = """\
version: '2.0'
report_child:
  input: [fail]
  tasks:
    work:
      action: std.echo output=child
      on-success:
        - boom: <% $.fail %>
    boom:
      action: std.fail
report_parent:
  tasks:
    prepare:
      action: std.echo output=ready
      on-success: [call_ok, call_failing]
    call_ok:
      workflow: report_child fail=false
    call_failing:
      workflow: report_child fail=true
"""

WAITING = """\
version: '2.0'
report_waiting:
  tasks:
    hold:
      action: std.async_noop
"""


@dataclass(frozen=True)
class Tree:
    root: str
    tasks: dict[str, dict[str, Any]]  # the root's tasks by name
    child_ok: str
    child_failing: str


@pytest.fixture(scope="module")
def tree(stack: LiveStack) -> Tree:
    stack.create_workflow(TREE)
    root = stack.start_execution("report_parent")["id"]
    assert stack.wait_for_state(root)["state"] == "ERROR"
    tasks = {task["name"]: task for task in stack.tasks_of(root)}
    children = {}
    for name in ("call_ok", "call_failing"):
        listed = stack.get(f"/v2/tasks/{tasks[name]['id']}/workflow_executions").json()["executions"]
        assert len(listed) == 1
        children[name] = listed[0]["id"]
    return Tree(root, tasks, children["call_ok"], children["call_failing"])


def _report(stack: LiveStack, execution_id: str, **params: Any) -> dict[str, Any]:
    response = stack.get(f"/v2/executions/{execution_id}/report", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in entries]


def _task(entry: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [task for task in entry["task_executions"] if task["name"] == name]
    return found


# -- report ---------------------------------------------------------------------------------------


def test_full_report(stack: LiveStack, tree: Tree) -> None:
    report = _report(stack, tree.root)
    assert report["statistics"] == {
        "total_tasks_count": 6, "running_tasks_count": 0, "success_tasks_count": 4, "error_tasks_count": 2,
        "idle_tasks_count": 0, "paused_tasks_count": 0, "estimated_time": 0,
    }
    root = report["root_workflow_execution"]
    assert {key: root[key] for key in ("id", "name", "state")} == {
        "id": tree.root, "name": "report_parent", "state": "ERROR"}
    assert set(root) == {"id", "name", "created_at", "updated_at", "state", "state_info", "task_executions"}
    assert sorted(_names(root["task_executions"])) == ["call_failing", "call_ok", "prepare"]

    prepare = _task(root, "prepare")
    assert prepare["state"] == "SUCCESS" and prepare["workflow_executions"] == []
    (echo,) = prepare["action_executions"]
    assert echo["name"] == "std.echo" and echo["state"] == "SUCCESS" and echo["accepted"] is True
    assert set(echo) == {"id", "name", "created_at", "updated_at", "state", "state_info", "accepted",
                         "last_heartbeat"}

    failing = _task(root, "call_failing")
    assert failing["state"] == "ERROR" and failing["action_executions"] == []
    (child,) = failing["workflow_executions"]
    assert (child["id"], child["name"], child["state"]) == (tree.child_failing, "report_child", "ERROR")
    assert _names(child["task_executions"]) == ["work", "boom"]
    boom = _task(child, "boom")
    assert boom["state"] == "ERROR" and _names(boom["action_executions"]) == ["std.fail"]
    assert boom["action_executions"][0]["state"] == "ERROR"

    (ok_child,) = _task(root, "call_ok")["workflow_executions"]
    assert ok_child["state"] == "SUCCESS" and _names(ok_child["task_executions"]) == ["work"]


def test_errors_only_keeps_the_error_path(stack: LiveStack, tree: Tree) -> None:
    report = _report(stack, tree.root, errors_only="true")
    stats = report["statistics"]
    assert (stats["total_tasks_count"], stats["error_tasks_count"], stats["success_tasks_count"]) == (2, 2, 0)
    root = report["root_workflow_execution"]
    assert _names(root["task_executions"]) == ["call_failing"]
    (child,) = root["task_executions"][0]["workflow_executions"]
    assert child["id"] == tree.child_failing and _names(child["task_executions"]) == ["boom"]


def test_max_depth_and_statistics_only(stack: LiveStack, tree: Tree) -> None:
    report = _report(stack, tree.root, max_depth=0)
    assert report["statistics"]["total_tasks_count"] == 3
    root = report["root_workflow_execution"]
    (child,) = _task(root, "call_failing")["workflow_executions"]
    # A sub-workflow past the depth limit is listed without its tasks.
    assert child["id"] == tree.child_failing and "task_executions" not in child

    deeper = _report(stack, tree.root, max_depth=1)
    assert deeper["statistics"]["total_tasks_count"] == 6

    only = _report(stack, tree.root, statistics_only="True", errors_only="True")
    assert "root_workflow_execution" not in only
    assert only["statistics"]["error_tasks_count"] == 2

    of_child = _report(stack, tree.child_failing)
    assert of_child["root_workflow_execution"]["id"] == tree.child_failing
    assert of_child["statistics"]["total_tasks_count"] == 2


def test_report_errors(stack: LiveStack, tree: Tree) -> None:
    missing = stack.get("/v2/executions/00000000-0000-0000-0000-000000000000/report")
    assert missing.status_code == 404 and "WorkflowExecution not found" in missing.json()["faultstring"]
    bad = stack.get(f"/v2/executions/{tree.root}/report", params={"max_depth": "deep"})
    assert bad.status_code == 400 and "max_depth" in bad.json()["faultstring"]
    bad = stack.get(f"/v2/executions/{tree.root}/report", params={"errors_only": "maybe"})
    assert bad.status_code == 400 and "errors_only" in bad.json()["faultstring"]


def test_estimated_time_of_a_running_execution(stack: LiveStack) -> None:
    stack.create_workflow(WAITING)
    first = stack.start_execution("report_waiting")["id"]
    running = _report(stack, first, statistics_only="true")["statistics"]
    assert running["estimated_time"] == -1  # no finished run of this workflow yet
    time.sleep(3)
    _complete_waiting_action(stack, first)
    assert stack.wait_for_state(first)["state"] == "SUCCESS"

    second = stack.start_execution("report_waiting")["id"]
    try:
        estimate = _report(stack, second, statistics_only="true")["statistics"]["estimated_time"]
        assert 1 <= estimate <= 4  # the first run took about three seconds
    finally:
        stack.put(f"/v2/executions/{second}", json={"state": "CANCELLED"})


def _complete_waiting_action(stack: LiveStack, execution_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = stack.tasks_of(execution_id)
        if tasks:
            actions = stack.get(f"/v2/tasks/{tasks[0]['id']}/action_executions").json()["action_executions"]
            if actions and actions[0]["state"] == "RUNNING":
                response = stack.put(f"/v2/action_executions/{actions[0]['id']}",
                                     json={"state": "SUCCESS", "output": "done"})
                assert response.status_code == 200, response.text
                return
        time.sleep(0.1)
    raise AssertionError("the waiting action never ran")


# -- sub-executions -------------------------------------------------------------------------------


def _ids(stack: LiveStack, path: str, **params: Any) -> list[str]:
    response = stack.get(path, params=params)
    assert response.status_code == 200, response.text
    return [execution["id"] for execution in response.json()["executions"]]


def test_execution_sub_executions(stack: LiveStack, tree: Tree) -> None:
    path = f"/v2/executions/{tree.root}/executions"
    everything = _ids(stack, path)
    assert everything[0] == tree.root and sorted(everything[1:]) == sorted([tree.child_ok, tree.child_failing])
    assert _ids(stack, path, errors_only="true") == [tree.root, tree.child_failing]
    assert _ids(stack, path, max_depth=0) == [tree.root]
    assert _ids(stack, path, max_depth=-1, errors_only="") == everything

    listed = stack.get(path).json()["executions"]
    assert all("output" not in execution for execution in listed)
    with_output = stack.get(path, params={"include_output": "true"}).json()["executions"]
    assert all(isinstance(execution["output"], str) for execution in with_output)
    child = next(execution for execution in with_output if execution["id"] == tree.child_failing)
    assert child["task_execution_id"] == tree.tasks["call_failing"]["id"]
    assert child["root_execution_id"] == tree.root

    missing = stack.get("/v2/executions/00000000-0000-0000-0000-000000000000/executions")
    assert missing.status_code == 404


def test_task_sub_executions(stack: LiveStack, tree: Tree) -> None:
    failing, ok = tree.tasks["call_failing"]["id"], tree.tasks["call_ok"]["id"]
    assert _ids(stack, f"/v2/tasks/{failing}/executions") == [tree.child_failing]
    assert _ids(stack, f"/v2/tasks/{failing}/executions", errors_only="true") == [tree.child_failing]
    assert _ids(stack, f"/v2/tasks/{ok}/executions", errors_only="true") == []
    assert _ids(stack, f"/v2/tasks/{tree.tasks['prepare']['id']}/executions") == []
    missing = stack.get("/v2/tasks/00000000-0000-0000-0000-000000000000/executions")
    assert missing.status_code == 404 and "Task execution not found" in missing.json()["faultstring"]


def test_task_workflow_executions(stack: LiveStack, tree: Tree) -> None:
    failing = tree.tasks["call_failing"]["id"]
    body = stack.get(f"/v2/tasks/{failing}/workflow_executions",
                     params={"fields": "state,workflow_name"}).json()
    assert body == {"executions": [{"id": tree.child_failing, "state": "ERROR", "workflow_name": "report_child"}]}
    assert _ids(stack, f"/v2/tasks/{failing}/workflow_executions", state="SUCCESS") == []
    missing = stack.get("/v2/tasks/00000000-0000-0000-0000-000000000000/workflow_executions")
    assert missing.status_code == 404


# -- the real CLI ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> MistralCli:
    return MistralCli(stack.base_url, tmp_path_factory.mktemp("report-cli"))


def test_cli_execution_get_report(cli: MistralCli, tree: Tree) -> None:
    errors = cli.ok("execution-get-report", tree.root).stdout  # the CLI asks for errors only by default
    assert "Number of tasks in ERROR state: 2" in errors
    assert "Number of tasks in SUCCESS state: 0" in errors
    assert "Estimated time (seconds) for the execution to finish: 0" in errors
    assert f"workflow 'report_parent' [ERROR] {tree.root}" in errors
    assert f"    task 'call_failing' [ERROR] {tree.tasks['call_failing']['id']}" in errors
    assert f"        workflow 'report_child' [ERROR] {tree.child_failing}" in errors
    assert "            task 'boom' [ERROR]" in errors
    assert "                action 'std.fail' [ERROR]" in errors
    assert "task 'prepare'" not in errors

    full = cli.ok("execution-get-report", tree.root, "--no-errors-only").stdout
    assert "Number of tasks in SUCCESS state: 4" in full
    assert "    task 'prepare' [SUCCESS]" in full and "        action 'std.echo' [SUCCESS]" in full
    assert f"workflow 'report_child' [SUCCESS] {tree.child_ok}" in full

    shallow = cli.ok("execution-get-report", tree.root, "--no-errors-only", "--max-depth", "0").stdout
    assert f"workflow 'report_child' [SUCCESS] {tree.child_ok}" in shallow
    assert "task 'work'" not in shallow

    stats = cli.ok("execution-get-report", tree.root, "--statistics-only").stdout
    assert "General Statistics" in stats and "Workflow Execution Tree" not in stats


def test_cli_execution_get_sub_executions(cli: MistralCli, tree: Tree) -> None:
    rows = cli.json("execution-get-sub-executions", tree.root)
    assert rows[0]["ID"] == tree.root and rows[0]["Workflow name"] == "report_parent"
    assert {row["ID"] for row in rows[1:]} == {tree.child_ok, tree.child_failing}
    states = {row["ID"]: row["State"] for row in rows}
    assert states == {tree.root: "ERROR", tree.child_ok: "SUCCESS", tree.child_failing: "ERROR"}

    errors = cli.json("execution-get-sub-executions", tree.root, "--errors-only")
    assert [row["ID"] for row in errors] == [tree.root, tree.child_failing]
    assert errors[1]["Task Execution ID"] == tree.tasks["call_failing"]["id"]
    assert errors[1]["Root Execution ID"] == tree.root

    shallow = cli.json("execution-get-sub-executions", tree.root, "--max-depth", "0")
    assert [row["ID"] for row in shallow] == [tree.root]


def test_cli_task_get_sub_executions(cli: MistralCli, tree: Tree) -> None:
    rows = cli.json("task-get-sub-executions", tree.tasks["call_ok"]["id"])
    assert [(row["ID"], row["Workflow name"], row["State"]) for row in rows] == [
        (tree.child_ok, "report_child", "SUCCESS")]
    # With nothing to list the client prints one blank row.
    empty = cli.json("task-get-sub-executions", tree.tasks["call_ok"]["id"], "--errors-only")
    assert [row["ID"] for row in empty] == [""]
    table = cli.ok("task-get-sub-executions", tree.tasks["call_failing"]["id"])
    assert tree.child_failing in table.stdout and "report_child" in table.stdout


def test_cli_report_of_unknown_execution(cli: MistralCli) -> None:
    result = cli.run("execution-get-report", "00000000-0000-0000-0000-000000000000")
    # The client reads the body of the 404 without checking the status, as it does with Mistral.
    assert result.exit_code != 0 and "'statistics'" in result.stderr

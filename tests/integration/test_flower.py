"""The stack started from the Procfile under honcho, as an operator runs it (the one extra stack of
the run): Flower tells the truth (failed actions count as failed, tasks carry workflow and task
names, no credential shows in what Flower keeps of a task), and every process the Procfile runs
writes one JSON object per line at the LOG_LEVEL it was given.

The stack runs with authentication on, Flower behind basic auth, LOG_FORMAT=json and
LOG_LEVEL=DEBUG. The last test stops it, so that the shutdown lines are read too.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.test_notifications import Webhook
from tests.support.browser import save_screenshot, start_chromium, wait_until
from tests.support.procfile import PROCESSES, ROOT, ProcfileStack

pytestmark = pytest.mark.sqlite_only  # Flower shows the broker's events: one database is enough
AUTH = ("ops", "flower-test-password")
WEBHOOK_SECRET = "Bearer flower-must-not-see-this"
WORKFLOWS = """
version: '2.0'
flower_view_wf:
  tasks:
    greet:
      # With a delay an echo runs on a worker; without one it is glue, completed in the engine's step.
      action: std.echo output=hello delay=0.01
      on-success: [tie]
    tie:
      action: std.noop
      on-success: [break]
    break:
      action: std.fail
      wait-before: 1
"""
# FLOWER_SCREENSHOT=docs/operating/flower-failed-action.png makes the README's picture (a path
# relative to the repository): Flower's task list in the real browser, with the failed action.
SCREENSHOT = os.environ.get("FLOWER_SCREENSHOT")


@pytest.fixture(scope="module")
def procfile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcfileStack]:
    stack = ProcfileStack(tmp_path_factory.mktemp("procfile"), env={
        "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "FLOWER_BASIC_AUTH": ":".join(AUTH)})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def _api(url: str, path: str) -> Any:
    try:
        response = requests.get(url + path, auth=AUTH, timeout=5)
    except (requests.ConnectionError, requests.Timeout):
        return None
    return response.json() if response.status_code == 200 else None


def _tasks_named(url: str, prefix: str) -> dict[str, dict[str, Any]]:
    tasks = _api(url, "/api/tasks") or {}
    return {task["name"]: task for task in tasks.values() if str(task.get("name", "")).startswith(prefix)}


def test_flower_needs_its_password(procfile: ProcfileStack) -> None:
    assert requests.get(procfile.flower_url + "/api/workers", timeout=5).status_code == 401
    assert requests.get(procfile.flower_url + "/", timeout=5).status_code == 401


def test_a_failed_action_is_a_failed_task_named_after_its_workflow_and_task(procfile: ProcfileStack) -> None:
    procfile.create_workflow(WORKFLOWS)
    execution = procfile.start_execution("flower_view_wf")
    assert procfile.wait_for_end(execution["id"])["state"] == "ERROR"

    flower = procfile.flower_url
    names = ("flower_view_wf.greet: std.echo", "flower_view_wf.break: std.fail")
    procfile.wait_for(lambda: all(_tasks_named(flower, n).get(n, {}).get("state") in ("SUCCESS", "FAILURE")
                                  for n in names), 90, f"Flower to see {names} end")
    seen = _tasks_named(flower, "flower_view_wf.")
    assert seen[names[0]]["state"] == "SUCCESS"
    assert seen[names[1]]["state"] == "FAILURE"
    assert "Fail action expected exception" in seen[names[1]]["exception"]
    # Glue ran in a worker's continuation step, not as a task of its own (break ran after it).
    assert "flower_view_wf.tie: std.noop" not in seen
    assert "'workflow': 'flower_view_wf'" in seen[names[1]]["kwargs"] and "'task': 'break'" in seen[names[1]]["kwargs"]
    # Celery logs an expected failure without a traceback.
    failed = [line for line in procfile.lines("worker") if "flower_view_wf.break" in line and "raised" in line]
    assert failed and all("Traceback" not in line for line in failed), failed

    if SCREENSHOT:
        _screenshot_of_the_failed_task(procfile, seen[names[1]]["uuid"], SCREENSHOT)


def _screenshot_of_the_failed_task(procfile: ProcfileStack, task_id: str, path: str) -> None:
    """The README's picture: Flower's task list, the failed action shown as failed."""
    driver = start_chromium(procfile.folder / "chromium")
    try:
        # Flower's pages fetch their rows with requests of their own: each carries the password.
        credentials = base64.b64encode(":".join(AUTH).encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {credentials}"}})
        driver.get(f"{procfile.flower_url}/tasks")
        wait_until(driver, lambda d: "flower_view_wf.break: std.fail" in d.page_source
                   and task_id in d.page_source, timeout=30, message="the failed task in Flower's list")
        save_screenshot(driver, ROOT / path)
    finally:
        driver.quit()


def test_webhook_credentials_never_reach_flower(procfile: ProcfileStack) -> None:
    webhook = Webhook()
    procfile.create_workflow(WORKFLOWS.replace("flower_view_wf", "flower_notify_wf"))
    notify = [{"type": "webhook", "url": webhook.url, "headers": {"Authorization": WEBHOOK_SECRET, "X-Team": "ops"},
               "events": ["WORKFLOW_FAILED"]}]
    execution = procfile.start_execution("flower_notify_wf", params={"notify": notify})
    procfile.wait_for_end(execution["id"])
    webhook.wait_for({execution["id"]}, "WORKFLOW_FAILED", "flower_notify_wf")

    procfile.wait_for(lambda: bool(_tasks_named(procfile.flower_url, "notify WORKFLOW_FAILED")), 90,
                      "Flower to see the notification")
    for task in _tasks_named(procfile.flower_url, "notify WORKFLOW_FAILED").values():
        assert "flower-must-not-see-this" not in str(task)
        assert "'Authorization': '***'" in task["args"] and "'X-Team': 'ops'" in task["args"]
    # The webhook itself still got the header.
    assert any(headers.get("Authorization") == WEBHOOK_SECRET for _, headers in webhook.received)


def test_every_process_of_the_procfile_logs_json_at_the_level_given(procfile: ProcfileStack) -> None:
    started = procfile.post("/v2/executions", json={"workflow_name": "flower_view_wf"},
                            headers={"X-Request-ID": "procfile-json-logs"})
    execution_id = started.json()["id"]
    procfile.wait_for_end(execution_id)
    procfile.stop()  # the shutdown lines are lines of the output too

    parsed: dict[str, list[dict[str, Any]]] = {}
    for name in PROCESSES:
        lines = procfile.lines(name)
        assert lines, f"{name} wrote nothing"
        for line in lines:
            try:
                parsed.setdefault(name, []).append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{name} wrote a line that is not JSON: {line!r}") from None
    for name in PROCESSES:
        assert all({"time", "level", "logger", "message"} <= set(entry) for entry in parsed[name]), name
    # LOG_LEVEL=DEBUG reached every long-running process (the release only runs migrations).
    for name in ("web", "worker", "scheduler", "flower"):
        assert any(entry["level"] == "DEBUG" for entry in parsed[name]), f"{name} ignored LOG_LEVEL=DEBUG"
    assert any(entry["logger"].startswith("alembic") for entry in parsed["release"])

    access = [e for e in parsed["web"] if e["logger"] == "app.access" and e.get("request_id") == "procfile-json-logs"]
    assert access and access[0]["status"] == 201 and access[0]["path"] == "/v2/executions"
    # The timer of the wait-before fired in the scheduler, which says so at DEBUG.
    assert any(e.get("execution_id") == execution_id for e in parsed["scheduler"]), "no scheduler line of it"
    assert any(e.get("execution_id") == execution_id and e.get("state") == "ERROR"
               for name in ("worker", "scheduler") for e in parsed[name])
    # Not even at DEBUG does a credential given to a webhook reach a log.
    assert "flower-must-not-see-this" not in procfile.output()

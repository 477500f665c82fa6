"""Flower tells the truth: failed actions count as failed, tasks carry workflow and task names, and
no credential shows in what Flower keeps of a task."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from app.embedded_redis import find_free_port
from tests.integration.test_notifications import Webhook
from tests.integration.test_supervisor import wait_for
from tests.support.stack import LiveStack

pytestmark = pytest.mark.sqlite_only  # Flower shows the broker's events: one database is enough
AUTH = ("ops", "flower-test-password")
WORKFLOWS = """
version: '2.0'
flower_view_wf:
  tasks:
    greet:
      action: std.echo output=hello
      on-success: [break]
    break:
      action: std.fail
"""


@pytest.fixture(scope="module")
def flower(stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = find_free_port()
    log = (tmp_path_factory.mktemp("flower") / "flower.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app.workers.celery_app:celery", "flower", "--address=127.0.0.1",
         f"--port={port}", f"--basic-auth={AUTH[0]}:{AUTH[1]}"],
        env=stack.environment(), stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        # Ready once it sees the stack's worker: from then on it records every task event.
        wait_for(lambda: bool(_api(url, "/api/workers")), timeout=60)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def _api(url: str, path: str) -> Any:
    try:
        response = requests.get(url + path, auth=AUTH, timeout=5)
    except requests.ConnectionError:
        return None
    return response.json() if response.status_code == 200 else None


def _tasks_named(url: str, prefix: str) -> dict[str, dict[str, Any]]:
    tasks = _api(url, "/api/tasks") or {}
    return {task["name"]: task for task in tasks.values() if str(task.get("name", "")).startswith(prefix)}


def test_a_failed_action_is_a_failed_task_named_after_its_workflow_and_task(stack: LiveStack, flower: str) -> None:
    stack.create_workflow(WORKFLOWS)
    execution = stack.start_execution("flower_view_wf")
    assert stack.wait_for_state(execution["id"])["state"] == "ERROR"

    names = ("flower_view_wf.greet: std.echo", "flower_view_wf.break: std.fail")
    try:
        wait_for(lambda: all(_tasks_named(flower, n).get(n, {}).get("state") in ("SUCCESS", "FAILURE")
                             for n in names), timeout=90)
    except AssertionError:
        raise AssertionError({k: v.get("state") for k, v in _tasks_named(flower, "").items()}) from None
    seen = _tasks_named(flower, "flower_view_wf.")
    assert seen[names[0]]["state"] == "SUCCESS"
    assert seen[names[1]]["state"] == "FAILURE"
    assert "Fail action expected exception" in seen[names[1]]["exception"]
    assert "'workflow': 'flower_view_wf'" in seen[names[1]]["kwargs"] and "'task': 'break'" in seen[names[1]]["kwargs"]
    # Celery logs an expected failure without a traceback.
    assert "Traceback" not in stack.log("worker").split("flower_view_wf.break")[-1][:2000]


def test_webhook_credentials_never_reach_flower(stack: LiveStack, flower: str) -> None:
    webhook = Webhook()
    stack.create_workflow(WORKFLOWS.replace("flower_view_wf", "flower_notify_wf"))
    secret = "Bearer flower-must-not-see-this"
    notify = [{"type": "webhook", "url": webhook.url, "headers": {"Authorization": secret, "X-Team": "ops"},
               "events": ["WORKFLOW_FAILED"]}]
    execution = stack.start_execution("flower_notify_wf", params={"notify": notify})
    stack.wait_for_state(execution["id"])
    webhook.wait_for({execution["id"]}, "WORKFLOW_FAILED", "flower_notify_wf")

    deadline = time.monotonic() + 90
    while not (sent := _tasks_named(flower, "notify WORKFLOW_FAILED")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sent
    for task in sent.values():
        assert "flower-must-not-see-this" not in str(task)
        assert "'Authorization': '***'" in task["args"] and "'X-Team': 'ops'" in task["args"]
    # The webhook itself still got the header.
    assert any(headers.get("Authorization") == secret for _, headers in webhook.received)

"""``GET /metrics`` adds up what every process counted, in Prometheus text."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_async_callback import _running_action
from tests.support.stack import LiveStack

# Workers count the actions they run: an echo with a delay and the benchmark plugin's failing action
# run on one; glue (std.noop, std.fail, an echo without delay) completes inside the engine's step.
WORKFLOWS = """
version: '2.0'
metrics_ok_wf:
  tasks:
    greet:
      action: std.echo output=hi delay=0.01
metrics_fail_wf:
  tasks:
    fail:
      action: bench.fail
metrics_wait_wf:
  tasks:
    ask:
      action: std.async_noop
"""


def scrape(stack: LiveStack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = stack.get("/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def scrape_until(stack: LiveStack, counted: Callable[[dict[Any, float]], bool],
                 timeout: float = 15.0) -> dict[Any, float]:
    """The metrics once ``counted`` holds of them (or at the deadline, for the asserts to tell)."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = scrape(stack)
        if counted(metrics) or time.monotonic() > deadline:
            return metrics
        time.sleep(0.1)


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_executions_actions_and_callbacks_are_counted(stack: LiveStack) -> None:
    stack.create_workflow(WORKFLOWS)
    before = scrape(stack)

    ok = stack.start_execution("metrics_ok_wf")["id"]
    failed = stack.start_execution("metrics_fail_wf")["id"]
    waiting = stack.start_execution("metrics_wait_wf")["id"]
    assert stack.wait_for_state(ok)["state"] == "SUCCESS"
    assert stack.wait_for_state(failed)["state"] == "ERROR"
    action = _running_action(stack, waiting)
    stack.wait_for_action_run(action["id"])  # sent: now only its completion ends it
    assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 1}).status_code == 200
    assert stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 2}).status_code == 409
    assert stack.wait_for_state(waiting)["state"] == "SUCCESS"
    stack.wait_until_worker_idle()
    # Each process adds what it counted to the shared numbers every half second.
    after = scrape_until(stack, lambda counted: all(
        delta(before, counted, name, **labels) >= 1 for name, labels in (
            ("tramontane_executions_started_total", {"workflow": "metrics_ok_wf"}),
            ("tramontane_executions_finished_total", {"workflow": "metrics_ok_wf", "state": "SUCCESS"}),
            ("tramontane_executions_finished_total", {"workflow": "metrics_fail_wf", "state": "ERROR"}),
            ("tramontane_actions_total", {"action": "std.async_noop", "outcome": "sent"}),
            ("tramontane_actions_total", {"action": "bench.fail", "outcome": "error"}),
            ("tramontane_callbacks_total", {"outcome": "200"}),
            ("tramontane_callbacks_total", {"outcome": "409"}),
            ("tramontane_action_duration_seconds_count", {"action": "std.echo"}),
        )))

    assert delta(before, after, "tramontane_executions_started_total", workflow="metrics_ok_wf") == 1
    assert delta(before, after, "tramontane_executions_finished_total", workflow="metrics_ok_wf", state="SUCCESS") == 1
    assert delta(before, after, "tramontane_executions_finished_total", workflow="metrics_fail_wf", state="ERROR") == 1
    assert delta(before, after, "tramontane_actions_total", action="bench.fail", outcome="error") >= 1
    assert delta(before, after, "tramontane_actions_total", action="std.async_noop", outcome="sent") >= 1
    assert delta(before, after, "tramontane_callbacks_total", outcome="200") >= 1
    assert delta(before, after, "tramontane_callbacks_total", outcome="409") >= 1
    assert delta(before, after, "tramontane_action_duration_seconds_count", action="std.echo") >= 1
    assert after[("tramontane_action_duration_seconds_bucket", (("action", "std.echo"), ("le", "+Inf")))] == \
        after[("tramontane_action_duration_seconds_count", (("action", "std.echo"),))]
    routes = {dict(labels).get("route") for name, labels in after
              if name == "tramontane_api_request_duration_seconds_count"}
    # Route templates, never ids: the labels stay bounded.
    assert "/v2/executions" in routes and "/v2/executions/<execution_id>" in routes, routes
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", str(route)) for route in routes), routes
    for gauge in ("tramontane_actions_waiting_for_callback", "tramontane_timers_overdue",
                  "tramontane_executions_running", "tramontane_oldest_waiting_action_age_seconds"):
        assert (gauge, ()) in after

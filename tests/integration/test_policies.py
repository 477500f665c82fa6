"""Task policies through the API, a real worker and the scheduler process (durable timers)."""

from __future__ import annotations

import json
import time

from tests.support.stack import LiveStack

RETRY = """
version: '2.0'
pol_retry:
  tasks:
    flaky:
      action: std.fail
      retry:
        count: 2
        delay: 0.5
      on-error: [noted]
    noted:
      action: std.echo output=<% task(flaky).state %>
      publish: {seen: <% task().result %>}
"""

WAITS = """
version: '2.0'
pol_waits:
  tasks:
    late:
      action: std.echo output=1
      wait-before: 1
      wait-after: 1
      publish: {value: <% task().result %>}
"""

TIMEOUT = """
version: '2.0'
pol_timeout:
  tasks:
    forever:
      action: std.async_noop
      timeout: 1
"""

FAIL_ON = """
version: '2.0'
pol_fail_on:
  tasks:
    check:
      action: std.echo output=5
      fail-on: <% task().result > 3 %>
"""

CONTINUE_ON = """
version: '2.0'
pol_continue_on:
  tasks:
    poll:
      action: std.echo output=<% len(tasks(execution().id)) %>
      retry:
        count: 5
        delay: 0
        continue-on: <% task().result < 3 %>
      publish: {attempts_seen: <% task().result %>}
"""


def test_retry_reruns_then_error_is_handled(stack: LiveStack) -> None:
    stack.create_workflow(RETRY)
    execution = stack.start_execution("pol_retry")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS"
    flaky = next(t for t in stack.tasks_of(execution["id"]) if t["name"] == "flaky")
    assert flaky["state"] == "ERROR"
    assert json.loads(flaky["runtime_context"])["retry_no"] == 2
    actions = stack.get(f"/v2/tasks/{flaky['id']}/action_executions").json()["action_executions"]
    assert len(actions) == 3
    assert [a["accepted"] for a in actions].count(True) == 1
    assert json.loads(done["output"]) == {"seen": "ERROR"}


def test_wait_before_and_wait_after_delay_the_task(stack: LiveStack) -> None:
    stack.create_workflow(WAITS)
    started = time.monotonic()
    execution = stack.start_execution("pol_waits")
    time.sleep(0.3)
    task = stack.tasks_of(execution["id"])[0]
    assert task["state"] == "DELAYED"
    assert task["state_info"] == "Delayed by 'wait-before' policy [delay=1]"
    done = stack.wait_for_state(execution["id"])
    assert time.monotonic() - started >= 2
    assert done["state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"value": 1}


def test_timeout_fails_an_async_task_and_a_late_callback_gets_409(stack: LiveStack) -> None:
    stack.create_workflow(TIMEOUT)
    execution = stack.start_execution("pol_timeout")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "ERROR"
    task = stack.tasks_of(execution["id"])[0]
    assert task["state_info"] == "Task timed out [timeout(s)=1]."
    action = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"][0]
    late = stack.put(f"/v2/action_executions/{action['id']}", json={"state": "SUCCESS", "output": 1})
    assert late.status_code == 409


def test_fail_on_turns_success_into_error(stack: LiveStack) -> None:
    stack.create_workflow(FAIL_ON)
    execution = stack.start_execution("pol_fail_on")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "ERROR"
    assert stack.tasks_of(execution["id"])[0]["state_info"] == "Failed by 'fail-on' policy"


def test_retry_continue_on_repeats_a_successful_task(stack: LiveStack) -> None:
    stack.create_workflow(CONTINUE_ON)
    execution = stack.start_execution("pol_continue_on")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS"
    task = stack.tasks_of(execution["id"])[0]
    assert json.loads(task["runtime_context"])["retry_no"] >= 1

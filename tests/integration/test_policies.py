"""Task policies through the API, a real worker and the scheduler process (durable timers).

The policies themselves (retry, waits, timeout, pause-before, fail-on, concurrency) are rehearsed
in-process on a virtual clock (``tests/engine/rehearsals/``); this checks that the scheduler fires
a policy's timer in real time and that the API refuses a callback that came too late.
"""

from __future__ import annotations

from tests.support.stack import LiveStack

TIMEOUT = """
version: '2.0'
pol_timeout:
  tasks:
    forever:
      action: std.async_noop
      timeout: 1
"""


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

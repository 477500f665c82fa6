"""``target`` routes a task's action to a Celery queue; only a worker listening there runs it."""

from __future__ import annotations

import json
import sys

from tests.support.stack import LiveStack

TARGETED = """
version: '2.0'
targeted:
  input: [where]
  tasks:
    special:
      action: std.echo output=done
      target: <% $.where %>
      publish: {result: <% task().result %>}
"""


def test_target_sends_the_action_to_its_queue(stack: LiveStack) -> None:
    stack.create_workflow(TARGETED)
    execution = stack.start_execution("targeted", {"where": "special_hosts"})
    # An execution started afterwards on the default queue ends, and the worker handled all it got:
    # it never received the targeted action.
    later = stack.start_execution("targeted", {"where": None})
    assert stack.wait_for_state(later["id"])["state"] == "SUCCESS"
    stack.wait_until_worker_idle()
    assert stack.get(f"/v2/executions/{execution['id']}").json()["state"] == "RUNNING"
    stack.start_process("special-worker", [
        sys.executable, "-m", "celery", "-A", "app.workers.celery_app:celery", "worker", "-Q", "special_hosts",
        "--loglevel", "INFO",
        "--concurrency", "1", "--hostname", f"special-{stack.port}@%h", "--without-mingle", "--without-gossip",
    ])
    try:
        done = stack.wait_for_state(execution["id"], timeout=60)
        assert done["state"] == "SUCCESS"
        assert json.loads(done["output"]) == {"result": "done"}
        task = stack.tasks_of(execution["id"])[0]
        action = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"][0]
        assert action["id"] in stack.log("special-worker")
        assert action["id"] not in stack.log("worker")
    finally:
        stack.kill("special-worker", 15)
        del stack.processes["special-worker"]

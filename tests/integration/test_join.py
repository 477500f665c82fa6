"""Parallel branches joined by ``join: all`` run the join task once, with every branch's data.

Joins (all, N, one, impossible ones) are rehearsed in-process in ``tests/engine/rehearsals/join/``;
this runs one through the API and a real worker.
"""

from __future__ import annotations

import json

from tests.support.stack import LiveStack

FAN_IN = """
version: '2.0'
e2e_fan_in:
  tasks:
    fork:
      action: std.noop
      on-success: [left, middle, right]
    left:
      action: std.echo output=1
      publish: {left: <% task().result %>}
      on-success: [together]
    middle:
      action: std.echo output=2
      publish: {middle: <% task().result %>}
      on-success: [together]
    right:
      action: std.echo output=3
      publish: {right: <% task().result %>}
      on-success: [together]
    together:
      join: all
      action: std.echo output=<% $.left + $.middle + $.right %>
      publish: {total: <% task().result %>}
"""


def test_join_all_runs_once_with_every_branch(stack: LiveStack) -> None:
    stack.create_workflow(FAN_IN)
    execution = stack.start_execution("e2e_fan_in")
    done = stack.wait_for_state(execution["id"])
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["output"])["total"] == 6
    names = [t["name"] for t in stack.tasks_of(execution["id"])]
    assert names.count("together") == 1
    assert sorted(names) == ["fork", "left", "middle", "right", "together"]

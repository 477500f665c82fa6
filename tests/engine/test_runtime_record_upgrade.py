"""Executions stored by an earlier release go on through this one.

Each test drives a workflow to the middle of a run, then writes the task's ``runtime_context``
exactly as the earlier release stored it at that point (literal JSON), and lets the engine finish:
the retry count, the with-items window, the join's arrivals and the pending completion of a
``wait-after`` are read from those rows, and the execution ends as it would have.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.extensions import session
from app.models import TaskExecution
from tests.engine.driver import EngineDriver, Script

RETRY = """
version: '2.0'
record_upgrade_retry_wf:
  tasks:
    flaky:
      action: std.noop
      timeout: 100
      retry: {count: 3, delay: 10}
      on-success: [after]
    after:
      action: std.echo output=done
"""

ITEMS = """
version: '2.0'
record_upgrade_items_wf:
  tasks:
    each:
      with-items: x in <% [1, 2, 3, 4] %>
      action: std.echo output=<% $.x %>
      concurrency: 2
"""

JOIN = """
version: '2.0'
record_upgrade_join_wf:
  tasks:
    a:
      action: std.noop
      on-success: [j]
    b:
      action: std.noop
      wait-after: 5
      on-success: [j]
    j:
      join: all
      action: std.echo output=joined
"""

# The failed first run of ``flaky``, its retry delayed 10 s (the timeout timer set at its first start).
RETRYING = {
    # Mistral's keys, the engine's own under "__engine".
    "current": '{"__engine": {"timeout_scheduled": true, "with_items": null}, "retry_task_policy": {"retry_no": 1}}',
    # The first releases kept the count and the flags beside Mistral's keys.
    "flat": '{"retry_no": 1, "timeout_scheduled": true, "wait_after_done": false, "with_items": null}',
}


def _store(task: TaskExecution, text: str) -> None:
    """Write the row as the earlier release left it, as a plain UPDATE of the stored JSON."""
    task.runtime_context = json.loads(text)
    session().commit()


def _shown(task: TaskExecution) -> dict[str, Any]:
    return {key: value for key, value in task.runtime_context.items() if key != "__engine"}


@pytest.mark.parametrize("release", sorted(RETRYING))
def test_a_retry_stored_by_an_earlier_release_goes_on_counting(driver: EngineDriver, release: str) -> None:
    driver.define(RETRY)
    driver.script = Script({"flaky": [{"error": "boom"}, {"error": "boom"}, "ok"]})
    driver.start("record_upgrade_retry_wf")
    driver.settle()
    flaky = driver.task("flaky")
    assert flaky.state == "DELAYED"
    _store(flaky, RETRYING[release])

    driver.run()

    assert driver.execution().state == "SUCCESS"
    flaky = driver.task("flaky")
    assert (flaky.state, flaky.result) == ("SUCCESS", "ok")
    # One more failure and a success: two retries in all, as counted before the upgrade.
    assert [action.state for action in driver.actions(flaky)] == ["ERROR", "ERROR", "SUCCESS"]
    assert _shown(flaky) == {"retry_task_policy": {"retry_no": 2}}
    # The timeout timer was set at the first start only, as the stored flag says.
    assert [fired.kind for fired in driver.fired].count("task_timeout") == 1
    assert driver.task("after").state == "SUCCESS"


def test_a_with_items_window_stored_by_an_earlier_release_is_filled_and_finished(driver: EngineDriver) -> None:
    driver.define(ITEMS)
    driver.script = Script({"each": {"items": {index: [{"async": True}] for index in range(4)}}})
    driver.start("record_upgrade_items_wf")
    driver.settle()
    first = driver.action_of("each", item=0)
    driver.call(lambda engine: engine.complete_action(first.id, "SUCCESS", 1))
    driver.settle()
    each = driver.task("each")
    # Item 0 ended, items 1 and 2 run: the window of 2 is full, item 3 is still to make.
    assert sorted((action.item_index, action.state) for action in driver.actions(each)) == [
        (0, "SUCCESS"), (1, "RUNNING"), (2, "RUNNING")]
    _store(each, '{"concurrency": 2, "__engine": {"with_items": {"count": 4, "done": 1, "next": 3}},'
                 ' "with_items": {"capacity": 0, "count": 4}}')

    for index in (1, 2):
        action = driver.action_of("each", item=index)
        driver.call(lambda engine, action_id=action.id, value=index + 1: engine.complete_action(
            action_id, "SUCCESS", value))
        driver.settle()
    each = driver.task("each")
    assert each.state == "RUNNING"
    assert _shown(each) == {"concurrency": 2, "with_items": {"capacity": 1, "count": 4}}
    last = driver.action_of("each", item=3)
    driver.call(lambda engine: engine.complete_action(last.id, "SUCCESS", 4))
    driver.run()

    each = driver.task("each")
    assert (each.state, each.result) == ("SUCCESS", [1, 2, 3, 4])
    assert _shown(each) == {"concurrency": 2, "with_items": {"capacity": 2, "count": 4}}
    assert driver.execution().state == "SUCCESS"


def test_a_join_and_a_wait_after_stored_by_an_earlier_release_complete(driver: EngineDriver) -> None:
    driver.define(JOIN)
    driver.script = Script({"a": ["A"], "b": ["B"]})
    driver.start("record_upgrade_join_wf")
    driver.settle()
    a, b, j = driver.task("a"), driver.task("b"), driver.task("j")
    assert (a.state, b.state, j.state) == ("SUCCESS", "DELAYED", "WAITING")
    _store(b, '{"__engine": {"wait_after_done": true, "pending_completion": {"state": "SUCCESS", "result": "B",'
              ' "state_info": null}}, "wait_after_policy": {"skip": true}}')
    _store(j, '{"__engine": {"join": {"fired": ["a"], "missed": []}, "fired_triggers": [{"task_id": "A_ID",'
              ' "event": "on-success"}]}}'.replace("A_ID", a.id))

    driver.run()

    assert driver.execution().state == "SUCCESS"
    b, j = driver.task("b"), driver.task("j")
    assert (b.state, b.result) == ("SUCCESS", "B")
    assert _shown(b) == {"wait_after_policy": {"skip": True}}
    assert (j.state, j.result) == ("SUCCESS", "joined")
    assert _shown(j) == {"triggered_by": [{"task_id": a.id, "event": "on-success"},
                                          {"task_id": b.id, "event": "on-success"}]}

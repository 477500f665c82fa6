"""Wide workflows through the real engine in-process: results keep their place whatever the order
in which a third party completes the actions."""

from __future__ import annotations

import random

from tests.engine.driver import EngineDriver

ITEMS = 200
WINDOW = 20
BRANCHES = 100

WIDE_ITEMS = f"""
version: '2.0'
wide_items:
  tasks:
    many:
      with-items: i in <% range(0, {ITEMS}) %>
      concurrency: {WINDOW}
      action: std.async_noop
      publish: {{values: <% task().result %>}}
"""


def _wide_join() -> str:
    lines = ["version: '2.0'", "wide_join:", "  tasks:", "    fork:",
             f"      on-success: [{', '.join(f'b{i}' for i in range(BRANCHES))}]"]
    for i in range(BRANCHES):
        lines += [f"    b{i}:", "      action: std.async_noop",
                  f"      publish: {{v{i}: <% task().result %>}}", "      on-success: [together]"]
    lines += ["    together:", "      join: all", "      action: std.noop", "      publish: {joined: true}"]
    return "\n".join(lines) + "\n"


def _complete(driver: EngineDriver, action_id: str, output: object) -> None:
    driver.call(lambda engine: engine.complete_action(action_id, "SUCCESS", output))
    driver.settle()


def test_with_items_keeps_item_order_whatever_the_completion_order(driver: EngineDriver) -> None:
    driver.define(WIDE_ITEMS)
    driver.start("wide_items")
    driver.settle()
    shuffle = random.Random(7)
    completed = 0
    while waiting := driver.open_actions():
        assert len(waiting) == min(WINDOW, ITEMS - completed)
        action = shuffle.choice(waiting)
        _complete(driver, action.id, action.item_index)
        completed += 1
    driver.run()
    assert driver.execution().state == "SUCCESS"
    assert driver.execution().output == {"values": list(range(ITEMS))}


def test_wide_join_runs_once_and_sees_every_branch(driver: EngineDriver) -> None:
    driver.define(_wide_join())
    driver.start("wide_join")
    driver.settle()
    waiting = driver.open_actions()
    assert len(waiting) == BRANCHES
    for action in random.Random(11).sample(waiting, len(waiting)):
        _complete(driver, action.id, int((action.task_name or "b-1")[1:]))
    driver.run()
    assert driver.execution().state == "SUCCESS"
    output = driver.execution().output or {}
    assert {key: output[key] for key in output if key.startswith("v")} == {f"v{i}": i for i in range(BRANCHES)}
    assert output["joined"] is True
    assert [task.name for task in driver.tasks()].count("together") == 1

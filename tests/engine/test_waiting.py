"""The actions waiting for a callback: async and RUNNING, across executions, oldest first, by pages."""

from __future__ import annotations

import pytest

from app.engine.errors import EngineError, NotFound
from app.engine.waiting import MAX_LIMIT, WaitingAction, waiting_actions
from app.extensions import session
from tests.engine.driver import EngineDriver, Script

WORKFLOWS = """
version: '2.0'
waiting_inbox_wf:
  input: [label]
  tasks:
    ask:
      action: std.async_noop
    compute:
      action: std.echo output=1
"""


def _every_page(limit: int) -> list[WaitingAction]:
    found: list[WaitingAction] = []
    marker = None
    while True:
        page = waiting_actions(session(), limit=limit, marker=marker)
        found += page.actions
        if page.next_marker is None:
            return found
        assert page.next_marker == page.actions[-1].id
        marker = page.next_marker


def test_waiting_actions_across_executions_oldest_first_by_pages(driver: EngineDriver) -> None:
    driver.define(WORKFLOWS)
    # ``compute`` is synchronous: held RUNNING here, as while a worker runs it, it waits for nobody.
    driver.script = Script({"ask": [{"async": True}, {"async": True}, {"async": True}],
                            "compute": [{"async": True}, {"async": True}, {"async": True}]})
    first = driver.start("waiting_inbox_wf", {"label": "first"})
    second = driver.start("waiting_inbox_wf", {"label": "second"})
    third = driver.start("waiting_inbox_wf", {"label": "third"})
    driver.settle()
    ours = {driver.action_of("ask", execution_input={"label": label}).id: execution
            for label, execution in (("first", first), ("second", second), ("third", third))}
    sync_ids = {action.id for action in driver.open_actions() if action.is_sync}
    assert len(sync_ids) == 3

    everything = waiting_actions(session(), limit=MAX_LIMIT)
    assert everything.next_marker is None and everything.total == len(everything.actions)
    listed = [action for action in everything.actions if action.id in ours]
    assert [ours[action.id] for action in listed] == [first, second, third]
    assert not sync_ids & {action.id for action in everything.actions}
    assert everything.actions == sorted(everything.actions, key=lambda action: (action.created_at, action.id))
    shown = listed[0]
    assert (shown.name, shown.workflow_name, shown.task_name, shown.workflow_execution_id) == (
        "std.async_noop", "waiting_inbox_wf", "ask", first)
    assert (shown.execution_state, shown.sent_request) == ("RUNNING", None)

    # One at a time, the pages give the same list; the marker of an action completed since still holds.
    assert _every_page(limit=1) == everything.actions
    driver.call(lambda engine: engine.complete_action(listed[0].id, "SUCCESS", "yes"))
    after_first = waiting_actions(session(), limit=MAX_LIMIT, marker=listed[0].id)
    assert [action.id for action in after_first.actions if action.id in ours] == [a.id for a in listed[1:]]
    assert listed[0].id not in {action.id for action in waiting_actions(session(), limit=MAX_LIMIT).actions}
    assert waiting_actions(session(), limit=MAX_LIMIT).total == everything.total - 1
    only_ours = waiting_actions(session(), limit=1, workflow_name="waiting_inbox_wf")
    assert (only_ours.total, [a.id for a in only_ours.actions]) == (2, [listed[1].id])
    assert waiting_actions(session(), marker=only_ours.next_marker, workflow_name="waiting_inbox_wf").actions[0].id \
        == listed[2].id


def test_bad_pages_are_refused_clearly(driver: EngineDriver) -> None:
    with pytest.raises(NotFound, match="the marker names no action execution"):
        waiting_actions(session(), marker="no-such-action")
    for limit in (0, MAX_LIMIT + 1, True):
        with pytest.raises(EngineError, match=f"limit must be a whole number from 1 to {MAX_LIMIT}"):
            waiting_actions(session(), limit=limit)

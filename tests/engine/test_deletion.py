"""Deleting executions and run-action results through the engine: nothing is left behind to run."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import or_, select

from app.actions import registry
from app.actions.base import Result
from app.engine.dispatch import ContinueParent, Notify
from app.engine.errors import NotAllowed, NotFound
from app.extensions import session
from app.models import ActionExecution, TaskExecution, Timer, WorkflowExecution
from app.workers import executor
from tests.engine.driver import EngineDriver, Script

TREE = """
version: '2.0'
deletion_parent_wf:
  tasks:
    ask:
      action: std.async_noop
      timeout: 30
    sub:
      workflow: deletion_child_wf
      on-complete: after
    after:
      action: std.noop
deletion_child_wf:
  tasks:
    wait:
      action: std.async_noop
    later:
      action: std.noop
      wait-before: 60
    grandchild:
      workflow: deletion_grandchild_wf
deletion_grandchild_wf:
  tasks:
    deep:
      action: std.async_noop
      timeout: 90
"""
HOOK = [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]


def _rows(execution_ids: list[str]) -> dict[str, int]:
    """How many rows of each kind still belong to these executions."""
    tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(execution_ids))
    counts = {
        "executions": session().scalars(select(WorkflowExecution.id).where(
            WorkflowExecution.id.in_(execution_ids))).all(),
        "tasks": session().scalars(tasks).all(),
        "actions": session().scalars(select(ActionExecution.id).where(or_(
            ActionExecution.workflow_execution_id.in_(execution_ids),
            ActionExecution.task_execution_id.in_(tasks)))).all(),
        "timers": session().scalars(select(Timer.id).where(Timer.target_id.in_(tasks))).all(),
    }
    session().commit()
    return {kind: len(ids) for kind, ids in counts.items()}


def _start_tree(driver: EngineDriver) -> list[str]:
    if "deletion_parent_wf" not in driver.definitions:
        driver.define(TREE)
    driver.script = Script({"ask": {"async": True}, "wait": {"async": True}, "deep": {"async": True}})
    driver.start("deletion_parent_wf", params={"notify": HOOK})
    driver.settle()
    ids = [ex_id for ex_id in driver.execution_ids() if ex_id == driver.root_id
           or driver.execution(ex_id).root_execution_id == driver.root_id]
    assert len(ids) == 3 and all(driver.execution(ex_id).state == "RUNNING" for ex_id in ids)
    return ids


def test_a_forced_delete_cancels_the_running_tree_and_leaves_no_row_behind(driver: EngineDriver) -> None:
    ids = _start_tree(driver)
    before = _rows(ids)
    # Three actions wait for a callback, and three timers (two timeouts, one wait-before) are due.
    assert before == {"executions": 3, "tasks": 6, "actions": 3, "timers": 3}
    waiting = [action.id for action in driver.open_actions()]

    with pytest.raises(NotAllowed, match=f"Only completed executions can be deleted. Use --force to override "
                                         f"this. Execution {ids[0]} is in RUNNING state"):
        driver.call(lambda engine: engine.delete_execution(ids[0]))
    assert _rows(ids) == before and driver.execution(ids[0]).state == "RUNNING"

    driver.notified.clear()
    driver.call(lambda engine: engine.delete_execution(ids[0], force=True))

    assert _rows(ids) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}
    # Nothing was sent for the deleted tree to run or to report: only the webhooks are told.
    assert {type(message) for message in driver.pending} == {Notify}
    driver.settle()
    # Each execution of the tree was cancelled (and told so) before it went; the deepest first.
    cancelled = [(body["id"], body["state_info"]) for body in driver.notified
                 if body["event"] == "WORKFLOW_CANCELLED"]
    assert cancelled == [(ex_id, f"Execution {ids[0]} was deleted with force") for ex_id in reversed(ids)]

    # A worker or a third party that reports a result afterwards is refused; nothing changes.
    with pytest.raises(NotFound, match=f"ActionExecution not found \\[id={waiting[0]}\\]"):
        driver.engine.on_action_result(waiting[0], Result(data="late"))
    with pytest.raises(NotFound):
        driver.call(lambda engine: engine.complete_action(waiting[1], "SUCCESS", "late"))
    driver.call(lambda engine: engine.continue_after_action(waiting[2]))
    driver.call(lambda engine: engine.continue_parent(ids[1]))
    assert executor.run_action(session(), driver.engine, driver.settings, waiting[0]) is None
    driver.run()
    assert _rows(ids) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}
    with pytest.raises(NotFound, match=f"WorkflowExecution not found \\[id={ids[0]}\\]"):
        driver.call(lambda engine: engine.delete_execution(ids[0], force=True))


def test_a_worker_whose_action_was_deleted_while_it_ran_drops_its_result(
        driver: EngineDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define("""
version: '2.0'
deletion_while_running_wf:
  tasks:
    work:
      action: std.sleep seconds=0
""")
    driver.script = Script({"work": {"run": True}})
    deleted: list[str] = []

    def deleted_meanwhile(self: Any, context: Any) -> str:
        # The forced delete commits while the worker runs the action (it holds no transaction then).
        execution_id = context.execution.workflow_execution_id
        driver.engine.delete_execution(execution_id, force=True)
        deleted.append(execution_id)
        return "done"

    monkeypatch.setattr(registry.find("std.sleep"), "run", deleted_meanwhile)
    execution_id = driver.start("deletion_while_running_wf")
    driver.run()

    assert deleted == [execution_id]
    assert _rows([execution_id]) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}


def test_a_forced_delete_of_a_running_sub_workflow_ends_its_task_as_a_cancel_would(
        driver: EngineDriver) -> None:
    cancelled_root, cancelled_child, _ = _start_tree(driver)
    deleted_root, deleted_child, deleted_grandchild = _start_tree(driver)

    driver.call(lambda engine: engine.update_execution(cancelled_child, "CANCELLED", None, None, "stop"))
    driver.call(lambda engine: engine.delete_execution(deleted_child, force=True))
    driver.settle()

    assert _rows([deleted_child, deleted_grandchild]) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}
    sub = _task(driver, deleted_root, "sub")
    assert (sub.state, sub.state_info) == ("CANCELLED", f"Execution {deleted_child} was deleted with force")
    # The parent goes on by its own rules, exactly as after a cancel of that sub-workflow.
    assert _outcome(driver, deleted_root) == _outcome(driver, cancelled_root)
    for root in (cancelled_root, deleted_root):
        ask = _task(driver, root, "ask")
        driver.call(lambda engine: engine.complete_action(driver.actions(ask)[0].id, "SUCCESS", "yes"))
    driver.run()
    assert _outcome(driver, deleted_root) == _outcome(driver, cancelled_root)
    assert driver.execution(deleted_root).state == "CANCELLED"


def _task(driver: EngineDriver, execution_id: str, name: str) -> TaskExecution:
    (task,) = [task for task in driver.tasks(execution_id) if task.name == name]
    return task


def _outcome(driver: EngineDriver, execution_id: str) -> tuple[str, list[tuple[str, str]]]:
    return driver.execution(execution_id).state, [(task.name, task.state) for task in driver.tasks(execution_id)]


def test_deleting_a_finished_sub_workflow_before_its_end_was_reported_still_completes_its_task(
        driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
deletion_report_wf:
  tasks:
    sub:
      workflow: deletion_report_child_wf
      publish:
        got: <% task().result %>
deletion_report_child_wf:
  tasks:
    t:
      action: std.echo output=7
      publish:
        seven: <% task().result %>
  output:
    seven: <% $.seven %>
""")
    driver.script = Script({"t": 7})
    root = driver.start("deletion_report_wf")
    # Handle messages until the child's end is on its way to its parent, but not yet applied.
    while not any(isinstance(message, ContinueParent) for message in driver.pending):
        driver.handle_next()
    (child,) = [ex_id for ex_id in driver.execution_ids() if ex_id != root]
    assert driver.execution(child).state == "SUCCESS" and driver.task("sub").state == "RUNNING"

    driver.call(lambda engine: engine.delete_execution(child))
    driver.run()

    assert _rows([child]) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}
    assert driver.task("sub").published == {"got": {"seven": 7}}
    assert driver.execution(root).state == "SUCCESS"


def test_an_unsaved_sync_run_is_read_and_deleted_in_one_engine_operation(driver: EngineDriver) -> None:
    run = driver.call(lambda engine: engine.run_action("std.echo", {"output": 3}, {"run_sync": True}))
    with pytest.raises(NotAllowed, match="Only completed action execution can be deleted."):
        driver.call(lambda engine: engine.take_unsaved_result(run.id))
    driver.settle()

    taken = driver.call(lambda engine: engine.take_unsaved_result(run.id))

    assert (taken.id, taken.state, taken.output) == (run.id, "SUCCESS", {"result": 3})
    assert session().get(ActionExecution, run.id, populate_existing=True) is None
    with pytest.raises(NotFound):
        driver.call(lambda engine: engine.take_unsaved_result(run.id))


def test_only_a_finished_action_run_outside_workflows_can_be_deleted(driver: EngineDriver) -> None:
    ids = _start_tree(driver)
    in_workflow = driver.action_of("ask").id
    with pytest.raises(NotAllowed, match="Only ad-hoc action execution can be deleted."):
        driver.call(lambda engine: engine.delete_action_execution(in_workflow))
    assert _rows(ids)["actions"] == 3

    run = driver.call(lambda engine: engine.run_action("std.async_noop", {}, {}))
    driver.settle()
    with pytest.raises(NotAllowed, match="Only completed action execution can be deleted."):
        driver.call(lambda engine: engine.delete_action_execution(run.id))
    driver.call(lambda engine: engine.complete_action(run.id, "SUCCESS", "done"))
    driver.call(lambda engine: engine.delete_action_execution(run.id))
    assert session().get(ActionExecution, run.id, populate_existing=True) is None


def test_a_paused_tree_is_refused_without_force_and_deleted_with_it(driver: EngineDriver) -> None:
    ids = _start_tree(driver)
    driver.call(lambda engine: engine.update_execution(ids[0], "PAUSED", None, None, None))
    driver.settle()
    assert [driver.execution(ex_id).state for ex_id in ids] == ["PAUSED"] * 3

    with pytest.raises(NotAllowed, match="is in PAUSED state"):
        driver.call(lambda engine: engine.delete_execution(ids[0]))
    driver.call(lambda engine: engine.delete_execution(ids[0], force=True))
    driver.run()

    assert _rows(ids) == {"executions": 0, "tasks": 0, "actions": 0, "timers": 0}
    assert [body["id"] for body in driver.notified if body["event"] == "WORKFLOW_CANCELLED"] == ids[::-1]

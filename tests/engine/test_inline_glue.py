"""Glue tasks complete inside a worker's continuation step, with no run-action message of their own.

A web request (the start here) never runs glue: it hands it on in a ``RunInline`` message, which
the driver plays as a worker would. Nothing is scripted for the glue tasks below: a scripted result
stands for a worker's report, so a scripted task always takes the executor path.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.actions import registry
from app.actions.std import NoopAction
from app.engine import inline
from app.engine.claims import INLINE
from app.engine.dispatch import Message, RunAction, RunInline
from app.engine.states import State
from tests.engine.driver import EngineDriver, Script


def _chain(name: str, length: int, action: str = "std.noop") -> str:
    tasks = "".join(
        f"    t{i}:\n      action: {action}\n" + (f"      on-success: [t{i + 1}]\n" if i < length else "")
        for i in range(1, length + 1)
    )
    return f"version: '2.0'\n{name}:\n  tasks:\n{tasks}"


def _play(driver: EngineDriver) -> list[Message]:
    """Handle every message one at a time (as workers would); the messages handled, in order."""
    handled = []
    while driver.pending:
        handled.append(driver.handle_next())
    return handled


def _run_actions(messages: list[Message]) -> list[RunAction]:
    return [message for message in messages if isinstance(message, RunAction)]


def test_a_60_task_noop_chain_runs_inline_and_splits_after_50(driver: EngineDriver) -> None:
    driver.define(_chain("glue_chain", 60))
    driver.start("glue_chain")

    # The start only hands the first task on: nothing ran in the web request.
    (first,) = driver.pending
    assert isinstance(first, RunInline) and len(first.action_execution_ids) == 1
    assert [task.state for task in driver.tasks()] == [State.RUNNING.value]

    driver.handle_next()
    tasks = driver.tasks()
    assert sum(task.state == State.SUCCESS for task in tasks) == inline.LIMIT
    (rest,) = driver.pending
    assert isinstance(rest, RunInline) and len(rest.action_execution_ids) == 1
    assert tasks[-1].name == "t51" and tasks[-1].state == State.RUNNING

    handled = _play(driver)
    assert not _run_actions(handled)
    assert driver.execution().state == State.SUCCESS
    tasks = driver.tasks()
    assert [task.name for task in tasks] == [f"t{i}" for i in range(1, 61)]
    for task in tasks:
        (action,) = driver.actions(task)
        # The row is written as a worker's report would leave it.
        assert (action.state, action.accepted, action.processed, action.output) == (
            State.SUCCESS.value, True, True, {"result": None})
        assert action.worker_id == INLINE


def test_an_echo_with_a_delay_goes_to_a_worker_and_one_without_does_not(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
glue_echo:
  tasks:
    quick:
      action: std.echo output=1
      on-success: [slow]
    slow:
      action: std.echo output=2 delay=0.01
      on-success: [after]
    after:
      action: std.echo output=<% task(slow).result + 1 %>
""")
    driver.start("glue_echo")
    handled = _play(driver)
    assert [message.task_name for message in _run_actions(handled)] == ["slow"]
    assert driver.execution().state == State.SUCCESS
    assert [(task.name, task.result) for task in driver.tasks()] == [("quick", 1), ("slow", 2), ("after", 3)]
    assert driver.actions(driver.task("slow"))[0].worker_id != INLINE


def test_publish_retry_fail_on_and_on_error_apply_to_inline_tasks(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
glue_policies:
  tasks:
    first:
      action: std.echo output=5
      publish:
        x: <% task().result %>
      on-success: [flaky]
    flaky:
      action: std.fail
      retry:
        count: 2
      on-error: [checked]
    checked:
      action: std.echo output=<% $.x %>
      fail-on: <% $.x = 5 %>
      # Published as the run ended (SUCCESS), before fail-on turned the task to ERROR.
      publish:
        seen: <% task().result %>
      on-error: [handler]
    handler:
      action: std.test_dict size=2 key_prefix=k val=<% $.seen %>
""")
    driver.start("glue_policies")
    handled = _play(driver)

    assert not _run_actions(handled)
    assert driver.execution().state == State.SUCCESS
    assert driver.task("first").published == {"x": 5}
    flaky = driver.task("flaky")
    assert flaky.state == State.ERROR
    assert flaky.runtime_context["retry_task_policy"] == {"retry_no": 2}
    assert [action.state for action in driver.actions(flaky)] == [State.ERROR.value] * 3
    assert "Fail action expected exception." in str(flaky.state_info)
    checked = driver.task("checked")
    assert (checked.state, checked.state_info, checked.published) == (
        State.ERROR.value, "Failed by 'fail-on' policy", {"seen": 5})
    assert driver.task("handler").result == {"k0": 5, "k1": 5}


def test_an_unhandled_inline_failure_fails_the_workflow_with_its_message(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
glue_failure:
  tasks:
    first:
      action: std.noop
      on-success: [broken]
    broken:
      action: std.fail error_data=<% {code => 1} %>
""")
    driver.start("glue_failure")
    assert not _run_actions(_play(driver))
    execution = driver.execution()
    assert execution.state == State.ERROR
    assert "broken [task_ex_id=" in execution.state_info and "{'code': 1}" in execution.state_info


class _UserNoop(NoopAction):
    """A user's action built on std.noop's class: it inherits the predicate but does not declare it."""


class _UserGlue(NoopAction):
    """A user's action that declares it may run inline."""

    @classmethod
    def runs_inline(cls, action_input: dict[str, Any]) -> bool:
        return True


def test_a_user_action_runs_inline_only_when_it_declares_it(driver: EngineDriver,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._ADDED, "user.noop", _UserNoop)
    monkeypatch.setitem(registry._ADDED, "user.glue", _UserGlue)
    driver.define("""
version: '2.0'
glue_user:
  tasks:
    first:
      action: std.noop
      on-success: [mine]
    mine:
      action: user.noop
      on-success: [declared]
    declared:
      action: user.glue
""")
    driver.start("glue_user")
    handled = _play(driver)
    assert [message.task_name for message in _run_actions(handled)] == ["mine"]
    assert driver.execution().state == State.SUCCESS


def test_the_bench_plugin_action_is_never_inlined(driver: EngineDriver) -> None:
    assert registry.find("bench.noop") is not None, "the benchmark's plugin is installed with the dev requirements"
    driver.define(_chain("glue_plugin", 3).replace("action: std.noop\n      on-success: [t2]",
                                                   "action: bench.noop\n      on-success: [t2]"))
    driver.start("glue_plugin")
    handled = _play(driver)
    assert [message.task_name for message in _run_actions(handled)] == ["t1"]
    assert driver.execution().state == State.SUCCESS


def test_target_and_timer_policies_take_the_executor_path(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
glue_excluded:
  tasks:
    targeted:
      action: std.noop
      target: elsewhere
      on-success: [waiting]
    waiting:
      action: std.noop
      wait-before: 1
      on-success: [timed]
    timed:
      action: std.noop
      timeout: 30
      on-success: [delayed_retry]
    delayed_retry:
      action: std.noop
      retry:
        count: 1
        delay: 2
      on-success: [few_items]
    few_items:
      with-items: i in <% range(0, 3) %>
      action: std.echo output=<% $.i %>
      on-success: [many_items]
    many_items:
      with-items: i in <% range(0, 51) %>
      action: std.echo output=<% $.i %>
""")
    driver.start("glue_excluded")
    driver.run()
    assert driver.execution().state == State.SUCCESS
    actions = {task.name: driver.actions(task) for task in driver.tasks()}
    ran_inline = {name: [action.worker_id == INLINE for action in rows] for name, rows in actions.items()}
    assert ran_inline == {"targeted": [False], "waiting": [False], "timed": [False], "delayed_retry": [False],
                          "few_items": [True] * 3, "many_items": [True] * 51}
    assert driver.task("few_items").result == [0, 1, 2]
    assert driver.task("many_items").result == list(range(51))


def test_a_wide_with_items_of_glue_runs_its_items_fifty_to_a_step(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
wide_glue_items:
  tasks:
    echo_all:
      with-items: i in <% range(0, 120) %>
      action: std.echo output=<% $.i %>
      publish:
        total: <% task().result.len() %>
""")
    driver.start("wide_glue_items")

    # The web request runs none: every item goes on to a worker in one message.
    (first,) = driver.pending
    assert isinstance(first, RunInline) and len(first.action_execution_ids) == 120
    sizes = []
    while driver.pending:
        message = driver.pending[0]
        assert isinstance(message, RunInline)
        sizes.append(len(message.action_execution_ids))
        driver.handle_next()
        done = [action for action in driver.actions(driver.task("echo_all")) if action.state == State.SUCCESS]
        # Each step completes at most its budget of items.
        assert len(done) == min(120, inline.LIMIT * len(sizes))
    assert sizes == [120, 70, 20]
    assert driver.execution().state == State.SUCCESS
    task = driver.task("echo_all")
    assert task.result == list(range(120))
    assert task.published == {"total": 120}
    assert all(action.worker_id == INLINE for action in driver.actions(task))


def test_a_glue_with_items_under_a_concurrency_limit_stays_within_its_window(driver: EngineDriver) -> None:
    driver.define("""
version: '2.0'
windowed_glue_items:
  tasks:
    echo_some:
      with-items: i in <% range(0, 75) %>
      concurrency: 5
      action: std.echo output=<% $.i %>
""")
    driver.start("windowed_glue_items")
    (first,) = driver.pending
    # The window: five items exist before any ends.
    assert isinstance(first, RunInline) and len(first.action_execution_ids) == 5
    _play(driver)
    assert driver.execution().state == State.SUCCESS
    task = driver.task("echo_some")
    assert task.result == list(range(75))
    assert all(action.worker_id == INLINE for action in driver.actions(task))


def test_inline_tasks_are_told_and_logged_as_executor_ones(driver: EngineDriver,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="app.engine.states")
    driver.define(_chain("glue_told", 3))
    params = {"notify": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]}

    def run(script: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Message]]:
        driver.notified.clear()
        caplog.clear()
        driver.script = Script(script)
        execution_id = driver.start("glue_told", params=params)
        handled = _play(driver)
        events = [(body["event"], body["name"], body["state"]) for body in driver.notified]
        records = [(getattr(r, "task_name", None), getattr(r, "action_name", None), r.previous_state, r.state)
                   for r in caplog.records if r.name == "app.engine.states"
                   and getattr(r, "execution_id", None) == execution_id]
        return events, records, handled

    on_workers = run({"t1": [None], "t2": [None], "t3": [None]})
    inline_run = run({})
    assert len(_run_actions(on_workers[2])) == 3 and not _run_actions(inline_run[2])
    assert inline_run[0] == on_workers[0]
    assert inline_run[1] == on_workers[1]
    assert ("TASK_LAUNCHED", "t2", "RUNNING") in inline_run[0]


def test_a_glue_action_completed_through_the_api_first_is_left_alone(driver: EngineDriver) -> None:
    driver.define(_chain("glue_raced", 2))
    driver.start("glue_raced")
    (handed_on,) = driver.pending
    assert isinstance(handed_on, RunInline)
    (action_id,) = handed_on.action_execution_ids
    driver.call(lambda engine: engine.complete_action(action_id, State.SUCCESS.value, "from the API"))
    _play(driver)
    assert driver.execution().state == State.SUCCESS
    first = driver.task("t1")
    assert first.result == "from the API"
    (action,) = driver.actions(first)
    assert action.worker_id is None

"""Results of one workflow's actions recorded together (app.engine.arrivals) end the workflow as
the same results recorded one at a time do, in one transaction that locks once and asks about the
workflow's end once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from app.actions.base import Result
from app.engine import action_service
from app.engine.action_service import _OneAtATime, _Reported
from app.engine.claims import ActionRun
from app.engine.dispatch import RunAction
from app.extensions import session
from app.models import ActionExecution, TaskExecution
from app.workers import executor
from tests.engine.driver import EngineDriver
from tests.engine.test_step_statements import statements

BRANCHES = 4
FAN_IN = "\n".join(
    ["version: '2.0'", "reported_together:", "  output:", "    all: <% $.joined %>", "  tasks:"]
    + [line for index in range(1, BRANCHES + 1) for line in (
        f"    b{index}:", "      action: bench.noop", "      publish:", f"        b{index}: <% task().result %>",
        "      on-success: [joined]")]
    + ["    joined:", "      join: all", "      action: bench.noop", "      publish:",
       "        joined: <% [" + ", ".join(f"$.b{index}" for index in range(1, BRANCHES + 1)) + "] %>"]
) + "\n"
ITEMS = """
version: '2.0'
reported_items:
  input:
    - items
  output:
    results: <% $.results %>
  tasks:
    each:
      with-items: x in <% $.items %>
      action: bench.noop
      publish:
        results: <% task().result %>
"""


def _claim_started(driver: EngineDriver) -> list[ActionRun]:
    """Claim every action sent so far, as workers that have not reported yet."""
    runs = [executor._claim_unclaimed(session(), message.action_execution_id)  # noqa: SLF001
            for message in driver.pending if isinstance(message, RunAction)]
    assert all(run is not None for run in runs)
    return [run for run in runs if run is not None]


def _by_task(runs: list[ActionRun]) -> dict[str, ActionRun]:
    return {run.task_name or "": run for run in runs}


def _state(execution_id: str, name: str) -> str:
    (row,) = session().query(TaskExecution).filter_by(workflow_execution_id=execution_id, name=name).all()
    return str(row.state)


def _tasks(execution_id: str) -> dict[str, tuple[str, Any]]:
    rows = session().query(TaskExecution).filter_by(workflow_execution_id=execution_id).all()
    return {row.name: (row.state, row.published) for row in rows}


def test_branches_recorded_together_end_as_recorded_one_at_a_time(driver: EngineDriver) -> None:
    driver.define(FAN_IN)
    one_at_a_time = driver.start("reported_together")
    driver.run()

    together = driver.start("reported_together")
    runs = _by_task(_claim_started(driver))
    batch = [_Reported(runs[f"b{index}"], Result(data=None)) for index in (3, 1, 2)]
    with statements() as sent:
        driver.engine._record_reported(batch)  # noqa: SLF001
    driver.call(lambda engine: None)  # what it sent joins the driver's queue
    # One lock, each result's compare-and-set, and one question about the end (b4 still runs).
    assert sent.count("SELECT workflow_executions") == 1
    assert sent.count("UPDATE action_executions") == 3
    assert sent.count("SELECT answers and ends") == 1
    assert _state(together, "joined") == "WAITING"
    driver.call(lambda engine: engine.on_action_result(runs["b4"].id, Result(data=None), run=runs["b4"]))
    driver.run()

    assert driver.execution(together).state == driver.execution(one_at_a_time).state == "SUCCESS"
    assert driver.execution(together).output == driver.execution(one_at_a_time).output
    assert _tasks(together) == _tasks(one_at_a_time)
    branch_actions = session().query(ActionExecution).filter(
        ActionExecution.id.in_([run.id for run in runs.values()])).all()
    assert {(action.state, action.accepted, action.processed) for action in branch_actions} == {("SUCCESS", True, True)}


def test_items_recorded_together_each_keep_their_own_result(driver: EngineDriver) -> None:
    driver.define(ITEMS)
    execution_id = driver.start("reported_items", {"items": [10, 20, 30, 40, 50]})
    runs = sorted(_claim_started(driver), key=lambda run: run.item_index or 0)
    assert len(runs) == 5

    batch = [_Reported(run, Result(data=(run.item_index or 0) * 2)) for run in reversed(runs)]
    driver.call(lambda engine: engine._record_reported(batch))  # noqa: SLF001
    driver.run()

    assert driver.execution(execution_id).state == "SUCCESS"
    assert driver.execution(execution_id).output == {"results": [0, 2, 4, 6, 8]}


def test_a_batch_with_an_action_no_longer_running_writes_nothing(driver: EngineDriver) -> None:
    driver.define(FAN_IN)
    execution_id = driver.start("reported_together")
    runs = _by_task(_claim_started(driver))
    driver.call(lambda engine: engine.on_action_result(runs["b2"].id, Result(data=None), run=runs["b2"]))

    batch = [_Reported(runs[name], Result(data=None)) for name in ("b1", "b2", "b3")]
    with pytest.raises(_OneAtATime):
        driver.call(lambda engine: engine._record_reported(batch))  # noqa: SLF001
    session().rollback()
    assert _state(execution_id, "b1") == _state(execution_id, "b3") == "RUNNING"

    # Recorded one at a time (what app.engine.arrivals then does), the workflow goes on.
    for name in ("b1", "b2", "b3", "b4"):
        driver.call(lambda engine, run=runs[name]: engine.report_result(run, Result(data=None)))
    driver.run()
    assert driver.execution(execution_id).state == "SUCCESS"


def test_results_reported_by_other_threads_meanwhile_are_handed_over(driver: EngineDriver,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    driver.define(FAN_IN)
    execution_id = driver.start("reported_together")
    runs = _by_task(_claim_started(driver))
    engine = driver.engine
    recording, batches, told = threading.Event(), [], []
    record_alone, record_together = engine.on_action_result, engine._record_reported  # noqa: SLF001

    def first_waits_for_the_others(action_id: str, result: Result, **kwargs: object) -> None:
        if not recording.is_set():
            recording.set()
            deadline = time.monotonic() + 10
            while len(action_service._REPORTED._waiting.get(execution_id, [])) < 2:  # noqa: SLF001
                assert time.monotonic() < deadline, "the other results were never handed over"
                time.sleep(0.001)
        record_alone(action_id, result, **kwargs)  # type: ignore[arg-type]

    def together(batch: Sequence[_Reported]) -> None:
        batches.append(sorted(reported.run.task_name for reported in batch))
        record_together(batch)

    monkeypatch.setattr(engine, "on_action_result", first_waits_for_the_others)
    monkeypatch.setattr(engine, "_record_reported", together)

    def report(name: str) -> None:
        assert recording.wait(10)
        engine.report_result(runs[name], Result(data=None), recorded=lambda: told.append(name))

    # The other threads only hand their results over: they touch no database.
    others = [threading.Thread(target=report, args=(name,)) for name in ("b2", "b3")]
    for thread in others:
        thread.start()
    engine.report_result(runs["b1"], Result(data=None), recorded=lambda: told.append("b1"))
    for thread in others:
        thread.join(10)
        assert not thread.is_alive()
    monkeypatch.undo()

    assert batches == [["b2", "b3"]]
    assert sorted(told) == ["b1", "b2", "b3"]
    assert {_state(execution_id, name) for name in ("b1", "b2", "b3")} == {"SUCCESS"}
    driver.call(lambda engine: engine.report_result(runs["b4"], Result(data=None)))
    driver.run()
    assert driver.execution(execution_id).state == "SUCCESS"


def test_a_workers_result_is_beaten_for_until_it_is_recorded(driver: EngineDriver) -> None:
    driver.define(FAN_IN)
    driver.start("reported_together")
    (message, *_) = [message for message in driver.pending if isinstance(message, RunAction)]
    holds: list[tuple[str, str]] = []

    class Beats:
        def add(self, action_id: str) -> None:
            holds.append(("add", action_id))

        def discard(self, action_id: str) -> None:
            holds.append(("discard", action_id))

    executor.run_action(session(), driver.engine, driver.settings, message.action_execution_id, Beats())

    assert session().get(ActionExecution, message.action_execution_id).state == "SUCCESS"
    # Held before it was handed to the engine, let go of once recorded.
    assert holds == [("add", message.action_execution_id), ("discard", message.action_execution_id)]

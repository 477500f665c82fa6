"""A worker runs the next action itself, within a budget; nothing held back is ever dropped."""

from __future__ import annotations

import pytest

from app.engine.dispatch import CollectingDispatcher, ContinueParent, Message, RunAction
from app.workers.continuation import HoldingDispatcher, run_chain


def _chain(length: int, extra: list[Message] | None = None) -> dict[str, list[Message]]:
    """Action a0 starts a1, ..., the last starts nothing; each step may also send ``extra``."""
    return {f"a{i}": [RunAction(f"a{i + 1}", "std.noop"), *(extra or [])] if i + 1 < length else []
            for i in range(length)}


def _holding(broker: CollectingDispatcher) -> HoldingDispatcher:
    return HoldingDispatcher(broker, "tramontane", "tramontane")


def _runner(steps: dict[str, list[Message]], ran: list[str], fail_on: str | None = None):  # noqa: ANN202
    def run(action_id: str, holding: HoldingDispatcher) -> None:
        if action_id == fail_on:
            raise RuntimeError("boom")
        ran.append(action_id)
        holding.send(list(steps[action_id]))
    return run


def test_a_chain_runs_locally_without_sending_its_actions() -> None:
    broker, ran = CollectingDispatcher(), []
    assert run_chain("a0", _runner(_chain(5), ran), _holding(broker)) == 5
    assert ran == ["a0", "a1", "a2", "a3", "a4"]
    assert broker.sent == []


def test_other_messages_and_other_queues_go_to_the_broker() -> None:
    broker, ran = CollectingDispatcher(), []
    steps = {"a0": [RunAction("a1", "std.noop"), RunAction("b1", "std.noop"), RunAction("q1", "x", queue="gpu"),
                    ContinueParent("w")], "a1": []}
    run_chain("a0", _runner(steps, ran), _holding(broker))
    assert ran == ["a0", "a1"]
    assert broker.sent == [RunAction("b1", "std.noop"), RunAction("q1", "x", queue="gpu"), ContinueParent("w")]


def test_the_budget_sends_the_next_action_to_the_broker() -> None:
    broker, ran = CollectingDispatcher(), []
    assert run_chain("a0", _runner(_chain(10), ran), _holding(broker), max_runs=3) == 3
    assert ran == ["a0", "a1", "a2"]
    assert broker.sent == [RunAction("a3", "std.noop")]


def test_an_action_taken_over_whose_run_fails_is_sent_again() -> None:
    broker, ran = CollectingDispatcher(), []
    with pytest.raises(RuntimeError):
        run_chain("a0", _runner(_chain(5), ran, fail_on="a2"), _holding(broker))
    assert ran == ["a0", "a1"]
    assert broker.sent == [RunAction("a2", "std.noop")]


def test_a_worker_of_another_queue_runs_only_that_queues_actions() -> None:
    broker, ran = CollectingDispatcher(), []
    steps = {"g0": [RunAction("d1", "std.noop"), RunAction("g1", "x", queue="gpu")], "g1": []}
    run_chain("g0", _runner(steps, ran), HoldingDispatcher(broker, "gpu", "tramontane"))
    assert ran == ["g0", "g1"]
    assert broker.sent == [RunAction("d1", "std.noop")]

"""The step's pure decisions: before-start policies and retry."""

from __future__ import annotations

import pytest

from app.engine.decisions import BeforeStart, before_start, free_places, should_retry, workflow_end


def test_pause_before_comes_first_and_holds_everything_else() -> None:
    assert before_start({}, pause_before=True, timeout=10, wait_before=5) == BeforeStart(pause=True)


def test_after_the_pause_the_timeout_is_set_and_the_wait_begins() -> None:
    assert before_start({"pause_before_done": True}, True, 10, 5) == BeforeStart(timeout=10, wait=5)


def test_each_policy_applies_once_per_run() -> None:
    done = {"timeout_scheduled": True, "wait_before_done": True}
    assert before_start(done, False, 10, 5) == BeforeStart()


def test_no_policy_starts_at_once() -> None:
    assert before_start({}, False, 0, 0) == BeforeStart()


@pytest.mark.parametrize("state, retry_no, count, breaks, continues, expected", [
    ("ERROR", 0, 2, False, None, True),        # a failure is retried
    ("ERROR", 2, 2, False, None, False),       # ... while the count lasts
    ("SUCCESS", 0, 2, False, None, False),     # a success is not, without continue-on
    ("ERROR", 0, 2, True, None, False),        # break-on stops retrying a failure
    ("SUCCESS", 0, 2, True, True, True),       # ... not a success that continue-on retries
    ("SUCCESS", 0, 2, False, False, False),    # continue-on no longer holds
    ("ERROR", 0, 2, False, False, False),      # continue-on decides for a failure too
    ("SUCCESS", 3, 3, False, True, False),     # the count bounds continue-on as well
])
def test_should_retry(state: str, retry_no: int, count: int, breaks: bool, continues: bool | None,
                      expected: bool) -> None:
    assert should_retry(state, retry_no, count, breaks, continues) is expected


def test_an_unhandled_failure_ends_the_workflow_in_error() -> None:
    assert workflow_end(1, ["late"]) == ("ERROR", None)


def test_cancelled_tasks_end_it_cancelled_naming_them_once_in_order() -> None:
    assert workflow_end(0, ["b", "a", "b"]) == ("CANCELLED", "Cancelled tasks: a, b")


def test_otherwise_it_succeeds() -> None:
    assert workflow_end(0, []) == ("SUCCESS", None)


@pytest.mark.parametrize("concurrency, started, ended, expected", [
    (0, 5, 0, None),    # no window
    (2, 0, 0, 2),       # nothing started yet
    (2, 2, 0, 0),       # full
    (2, 3, 2, 1),       # one running: one free place
    (2, 5, 5, 2),       # all ended
    (3, 1, 2, 3),       # more ended than started (items made before the window) never overflows
])
def test_free_places_of_the_with_items_window(concurrency: int, started: int, ended: int,
                                             expected: int | None) -> None:
    assert free_places(concurrency, started, ended) == expected
